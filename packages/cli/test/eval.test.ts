// `kvbench eval`: flags -> EvalOptions, errors naming the flag, and real runs (table and --json).
import { describe, expect, it } from 'vitest';
import { evalOptionsFromArgs, flagError, run, type CommandIo } from '../src/commands/eval';
import { main } from '../src/main';

function capture(): CommandIo & { out: string; err: string } {
  const io = { out: '', err: '', isTty: false, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

describe('kvbench eval flags', () => {
  it('maps every flag onto EvalOptions', () => {
    const { options, internal, json } = evalOptionsFromArgs([
      '--model', 'stories260k', '--benchmark', 'tinystories', '--prompt', '64', '--max-tokens=192', '--limit', '40',
      '--kbits', '2', '--vbits', '4', '--backend', 'hqq', '--group-size', '8', '--key-group-size', '32', '--key-axis', 'per-channel',
      '--residual', '32', '--prefill', 'keep-residual', '--residual-mode', 'requantize', '--ep', 'cpu', '--engine', 'reference', '--json',
    ]);
    expect(json).toBe(true);
    expect(internal).toEqual({ engine: 'reference' });
    expect(options).toEqual({
      model: 'stories260k',
      data: 'tinystories',
      protocol: 'ppl-decode',
      prompt: 64,
      maxTokens: 192,
      limit: 40,
      cache: {
        quant: {
          key: { bits: 2, backend: 'hqq', axis: 'per-channel', groupSize: 32, metaDtype: 'fp16', hqqMode: 'faithful' },
          value: { bits: 4, backend: 'hqq', axis: 'per-token', groupSize: 8, metaDtype: 'fp16', hqqMode: 'faithful' },
        },
        residualLength: 32,
        prefill: 'keep-residual',
        residualMode: 'requantize',
        mode: 'packed',
      },
      provider: 'cpu',
    });
  });

  it('16/16 is full precision; the protocol follows the data; a file needs --format', () => {
    const fp = evalOptionsFromArgs(['--benchmark', 'gsm8k', '--kbits', '16', '--vbits', '16', '--few-shot', '0']).options;
    expect(fp.cache.quant).toBeNull();
    expect(fp.protocol).toBe('gen-exact');
    expect(fp.fewShot).toBe(0);
    const file = evalOptionsFromArgs(['--data', 'x.jsonl', '--format', 'arc']).options;
    expect(file).toMatchObject({ data: 'x.jsonl', format: 'arc', protocol: 'mc-decode' });
  });

  it.each([
    [['--benchmark', 'tinystories', '--ep', 'tpu'], /--ep: got "tpu", allowed: cpu, webgpu, cuda/],
    [['--benchmark', 'tinystories', '--kbits', '9'], /--kbits: got "9", allowed: integers 1\.\.8, or 16 for full precision/],
    [['--benchmark', 'tinystories', '--kbits', '16'], /full precision \(16\) must be chosen for both/],
    [['--benchmark', 'mmlu'], /--benchmark: got "mmlu", allowed: tinystories, wikitext2, gsm8k, hellaswag, arc-easy/],
    [['--data', 'x.txt'], /--data needs --format: text, gsm8k, hellaswag, arc, mc-jsonl/],
    [['--data', 'x.txt', '--format', 'csv'], /--format: got "csv", allowed: text, gsm8k/],
    [['--benchmark', 'tinystories', '--key-axis', 'diagonal'], /--key-axis: got "diagonal", allowed: per-token, per-channel/],
    [['--benchmark', 'tinystories', '--prefill', 'some'], /--prefill: got "some", allowed: quantize-all, keep-residual/],
    [['--benchmark', 'tinystories', '--limit', 'ten'], /--limit: got "ten", allowed: an integer >= 1/],
    [['--benchmark', 'tinystories', '--prompt', '64', '--max-tokens', '65'], /--max-tokens: got 65, ppl-decode needs at least --prompt \+ 2 = 66/],
    [['--benchmark', 'tinystories', '--bits', '4'], /unknown flag --bits; allowed: --model/],
    [['--benchmark', 'tinystories', '--limit'], /--limit needs a value/],
    [[], /--benchmark <tinystories\|/],
  ])('%j is rejected naming the flag', async (argv, message) => {
    const io = capture();
    expect(await run(argv as string[], io)).toBe(2);
    expect(io.err).toMatch(message);
  });

  it('engine errors are reported with the flag that set the field', () => {
    expect(flagError('key.groupSize: got 3, per-token on shape [1,4,1,8] needs a divisor')).toMatch(/^--key-group-size: got 3/);
    expect(flagError('cache.quant.value.bits: got 9')).toBe('--vbits: got 9');
  });

  it('--help prints the flags', async () => {
    const io = capture();
    expect(await run(['--help'], io)).toBe(0);
    expect(io.out).toMatch(/--residual-mode <append\|requantize>/);
  });

  it('is registered as `kvbench eval`', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(await main(['eval', '--help'], { out: (t) => out.push(t), err: (t) => err.push(t), tty: false })).toBe(0);
    expect(out.join('\n')).toMatch(/--kbits N/);
    expect(await main(['eval', '--benchmark', 'tinystories', '--ep', 'tpu'], { out: (t) => out.push(t), err: (t) => err.push(t), tty: false })).toBe(2);
    expect(err.join('\n')).toMatch(/--ep: got "tpu", allowed: cpu, webgpu, cuda/);
  });
});

describe('kvbench eval runs', () => {
  it('--json prints the EvalResult with the fixed field names (ONNX Runtime, the default engine)', async () => {
    const io = capture();
    const code = await run(['--benchmark', 'tinystories', '--limit', '2', '--prompt', '16', '--max-tokens', '40', '--kbits', '4', '--vbits', '2', '--group-size', '8', '--residual', '8', '--json'], io);
    expect(io.err).not.toMatch(/kvbench eval:/);
    expect(code).toBe(0);
    const r = JSON.parse(io.out);
    for (const key of ['perplexity', 'kl', 'top1', 'nllDelta', 'nllDeltaStderr', 'scoredTokens']) expect(typeof r.metrics[key]).toBe('number');
    expect(r.memory.kvBytesPerToken).toBe(280);
    expect(r.memory.fp16BytesPerToken).toBe(640);
    expect(r.speed.tokensPerSecond).toBeGreaterThan(0);
    expect(r.provider).toBe('cpu');
    expect(r.engine).toBe('onnx');
    expect(r.config.cache.quant.key.bits).toBe(4);
    expect(io.err).toMatch(/\[2\/2\]/); // the progress line
  });

  it('prints a readable table for mc-decode (reference engine)', async () => {
    const io = capture();
    const code = await run(['--benchmark', 'arc-easy', '--limit', '2', '--kbits', '2', '--vbits', '2', '--group-size', '8', '--engine', 'reference'], io);
    expect(io.err).not.toMatch(/kvbench eval:/);
    expect(code).toBe(0);
    expect(io.out).toMatch(/benchmark +arc-easy \(mc-decode, 2 items/);
    expect(io.out).toMatch(/^accuracy +\d\.\d{4} +\d\.\d{4}$/m);
    expect(io.out).toMatch(/KV bytes per token +240\.0 \(fp16 640, 0\.375x\)/);
  });

  it('a group size that cannot be laid out on the model names the flag', async () => {
    const io = capture();
    expect(await run(['--benchmark', 'tinystories', '--limit', '1', '--group-size', '3', '--engine', 'reference'], io)).toBe(1);
    expect(io.err).toMatch(/kvbench eval: --key-group-size: got 3/);
  });
});
