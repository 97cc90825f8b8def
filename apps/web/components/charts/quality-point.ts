// A run as a point on the quality charts, and the Pareto frontier over such points.

export interface QualityPoint {
  id: string;
  /** "K4V2" */
  label: string;
  keyBits: number;
  valueBits: number;
  kvBytesPerToken: number;
  value: number;
  stderr: number | null;
  /** the settings other than bits (backend, axes, groups, residual, items), readable */
  variant: string;
}

/**
 * The points no other point beats on both memory and quality: walking from the fewest bytes up, a point
 * joins when its quality is strictly better than every cheaper point's.
 */
export function paretoFrontier(points: QualityPoint[], lowerIsBetter: boolean): QualityPoint[] {
  const better = (a: number, b: number) => (lowerIsBetter ? a < b : a > b);
  const sorted = [...points].sort((a, b) => a.kvBytesPerToken - b.kvBytesPerToken || (better(a.value, b.value) ? -1 : 1));
  const frontier: QualityPoint[] = [];
  for (const p of sorted) {
    const last = frontier[frontier.length - 1];
    if (!last || better(p.value, last.value)) {
      if (last && last.kvBytesPerToken === p.kvBytesPerToken) frontier.pop();
      frontier.push(p);
    }
  }
  return frontier;
}

export const PALETTE = ['#2456c9', '#d97706', '#0f9d8a', '#9333ea', '#db2777', '#4b5563'];
