// Row-major matrices stacked along their rows ([n1, k] ++ [n2, k] -> [n1 + n2, k]): the decoder runs
// q/k/v and gate/up as one projection each. A fresh copy per graph build (kept for the model's lifetime
// it would add most of the weights again).
export function stackRows(parts: Float32Array[]): Float32Array {
  const rows = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    rows.set(p, offset);
    offset += p.length;
  }
  return rows;
}
