// Leaderboard filter flags -> query string (shared by `leaderboard` and `export`).
export const BOARD_FLAGS = {
  model: { type: 'string' },
  benchmark: { type: 'string' },
  backend: { type: 'string' },
  bits: { type: 'string' },
  protocol: { type: 'string' },
  provider: { type: 'string' },
  sort: { type: 'string' },
  order: { type: 'string' },
} as const;

export const BOARD_HELP = `  --model A,B  --benchmark A,B  --backend quanto,hqq  --bits K4V2  --protocol P  --provider cpu|cuda|webgpu
  --sort score|kvBytesPerToken|ratioToFp16|tokensPerSecond|wallSeconds|finishedAt|model|benchmark|keyBits|valueBits
  --order asc|desc`;

export function boardQuery(v: Record<string, string | boolean | undefined>): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of Object.keys(BOARD_FLAGS)) if (typeof v[k] === 'string') q.set(k, v[k] as string);
  return q;
}
