// The law of one coordinate of a uniformly random unit vector after a Haar rotation (quantizers.md §8.1
// step 3), and its Gaussian limit, with the cell moments Lloyd-Max needs, by numerical integration.
//
// Sphere: f_d(t) ∝ (1 - t²)^((d-3)/2) on [-1, 1]. Substituting t = sin θ gives the weight cos^(d-2) θ on
// [-π/2, π/2], smooth for every d >= 2 (the t-form is singular at ±1 for d = 2), so composite
// Gauss-Legendre converges fast. Gaussian: N(0, 1), unit variance (scale by 1/√d for TurboQuant).

export type CoordinateLaw = { kind: 'gaussian' } | { kind: 'sphere'; dim: number };

/** 8-point Gauss-Legendre nodes and weights on [-1, 1]. */
const GL_NODES = [
  -0.9602898564975363, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498,
  0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363,
];
const GL_WEIGHTS = [
  0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.3626837833783620,
  0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763,
];

/** Mass, first and second moment of the law over the cell [a, b]. */
export interface CellMoments {
  mass: number;
  first: number;
  second: number;
}

export interface IntegrableLaw {
  readonly law: CoordinateLaw;
  /** Standard deviation of one coordinate (1 for the Gaussian, 1/√d for the sphere). */
  readonly sigma: number;
  /** Effective support: the law's mass outside is far below float64 resolution. */
  readonly lo: number;
  readonly hi: number;
  moments(a: number, b: number): CellMoments;
  density(t: number): number;
}

/** Composite Gauss-Legendre of [f0, f1, f2](x) over [a, b] with panels no wider than h. */
function integrate3(a: number, b: number, h: number, f: (x: number, out: number[]) => void): number[] {
  const acc = [0, 0, 0];
  if (!(b > a)) return acc;
  const panels = Math.max(1, Math.ceil((b - a) / h));
  const width = (b - a) / panels;
  const tmp = [0, 0, 0];
  for (let p = 0; p < panels; p++) {
    const mid = a + (p + 0.5) * width;
    const half = width / 2;
    for (let k = 0; k < 8; k++) {
      f(mid + half * GL_NODES[k], tmp);
      const w = GL_WEIGHTS[k] * half;
      acc[0] += w * tmp[0];
      acc[1] += w * tmp[1];
      acc[2] += w * tmp[2];
    }
  }
  return acc;
}

class GaussianLaw implements IntegrableLaw {
  readonly law = { kind: 'gaussian' } as const;
  readonly sigma = 1;
  // φ(13)/φ(0) ≈ 1e-37: far below what any cell moment can resolve.
  readonly lo = -13;
  readonly hi = 13;
  private static readonly NORM = 1 / Math.sqrt(2 * Math.PI);

  density(t: number): number {
    return GaussianLaw.NORM * Math.exp(-0.5 * t * t);
  }

  moments(a: number, b: number): CellMoments {
    const lo = Math.max(a, this.lo);
    const hi = Math.min(b, this.hi);
    const [mass, first, second] = integrate3(lo, hi, 0.125, (t, out) => {
      const w = this.density(t);
      out[0] = w;
      out[1] = w * t;
      out[2] = w * t * t;
    });
    return { mass, first, second };
  }
}

class SphereLaw implements IntegrableLaw {
  readonly law: CoordinateLaw;
  readonly sigma: number;
  readonly lo: number;
  readonly hi: number;
  private readonly thetaMax: number;
  private readonly panel: number;
  private readonly power: number;
  private readonly norm: number;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 2) throw new Error(`sphere law: dim must be an integer >= 2, got ${dim}`);
    this.law = { kind: 'sphere', dim };
    this.sigma = 1 / Math.sqrt(dim);
    this.power = dim - 2;
    // cos^(d-2) θ ≈ exp(-(d-2)θ²/2): beyond 13σ it is below 1e-37 of its peak.
    this.thetaMax = Math.min(Math.PI / 2, 13 / Math.sqrt(Math.max(dim - 2, 1)));
    this.hi = Math.sin(this.thetaMax);
    this.lo = -this.hi;
    this.panel = Math.min(0.125, 0.125 / Math.sqrt(Math.max(dim - 2, 1)));
    this.norm = 1;
    this.norm = 1 / this.rawMoments(-this.thetaMax, this.thetaMax)[0];
  }

  density(t: number): number {
    if (t <= -1 || t >= 1) return 0;
    // f(t) dt = w(θ) dθ with dθ = dt / cos θ = dt / √(1 - t²).
    const c = Math.sqrt(1 - t * t);
    return (this.norm * Math.pow(c, this.power)) / c;
  }

  private rawMoments(thetaA: number, thetaB: number): number[] {
    return integrate3(thetaA, thetaB, this.panel, (theta, out) => {
      const t = Math.sin(theta);
      const w = Math.pow(Math.cos(theta), this.power);
      out[0] = w;
      out[1] = w * t;
      out[2] = w * t * t;
    });
  }

  moments(a: number, b: number): CellMoments {
    const ta = Math.asin(Math.max(-1, Math.min(1, a)));
    const tb = Math.asin(Math.max(-1, Math.min(1, b)));
    const [m0, m1, m2] = this.rawMoments(Math.max(ta, -this.thetaMax), Math.min(tb, this.thetaMax));
    return { mass: m0 * this.norm, first: m1 * this.norm, second: m2 * this.norm };
  }
}

export function integrableLaw(law: CoordinateLaw): IntegrableLaw {
  return law.kind === 'gaussian' ? new GaussianLaw() : new SphereLaw(law.dim);
}
