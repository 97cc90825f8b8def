// kvbench: submit runs and sweeps, follow them, read the leaderboard. Talks to the HTTP API
// (--api URL or KVBENCH_API_URL, default http://localhost:3000; writes use KVBENCH_API_TOKEN).
import { ApiClient, ApiError, resolveToken } from './api';
import { UsageError, type CommandContext } from './command';
import { COMMANDS } from './commands/index';

function help(): string {
  return `kvbench <command> [options]   (global: --api URL, --token TOKEN)

commands:
${Object.keys(COMMANDS).map((c) => `  ${c}`).join('\n')}

\`kvbench <command> --help\` shows a command's options.`;
}

/** Pulls the global flags out of argv (they may come before or after the command). */
function globals(argv: string[]): { rest: string[]; api?: string; token?: string } {
  const rest: string[] = [];
  let api: string | undefined;
  let token: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--api' || a === '--token') {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${a} needs a value`);
      if (a === '--api') api = value;
      else token = value;
    } else if (a.startsWith('--api=')) api = a.slice(6);
    else if (a.startsWith('--token=')) token = a.slice(8);
    else rest.push(a);
  }
  return { rest, api, token };
}

export async function main(argv: string[], io: Partial<Pick<CommandContext, 'out' | 'err' | 'tty'>> = {}): Promise<number> {
  const out = io.out ?? ((t: string) => console.log(t));
  const err = io.err ?? ((t: string) => console.error(t));
  try {
    const { rest, api: apiUrl, token } = globals(argv);
    const [name, ...args] = rest;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      out(help());
      return name ? 0 : 2;
    }
    const load = COMMANDS[name];
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(name)}\n\n${help()}`);
    const command = (await load()).default;
    if (args.includes('--help') || args.includes('-h')) {
      out(`${command.summary}\n\nusage: ${command.usage}`);
      return 0;
    }
    let client: ApiClient | undefined;
    const ctx: CommandContext = {
      api: () => (client ??= new ApiClient(apiUrl ?? process.env.KVBENCH_API_URL ?? undefined, token ?? resolveToken())),
      out,
      err,
      tty: io.tty ?? Boolean(process.stdout.isTTY),
    };
    return await command.run(args, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`kvbench: ${e.message}`);
      return 2;
    }
    if (e instanceof ApiError) {
      err(`kvbench: ${e.message}`);
      return 1;
    }
    err(`kvbench: ${(e as Error).message}`);
    return 1;
  }
}
