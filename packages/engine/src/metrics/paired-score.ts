// Accumulates the paired comparison of a quantized-cache model against the full-precision one on the
// same positions: NLL of each, KL(p_fp || p_q), top-1 agreement, and per-document sums for stderrs.
import { argmax, logSoftmax } from './log-softmax';
import { klDivergence, negativeLogLikelihood } from './divergence';
import { clusteredMean } from './stderr';

export class PairedScore {
  private nllQ = 0;
  private nllFp = 0;
  private kl = 0;
  private agree = 0;
  private tokens = 0;
  private readonly docDelta: number[] = [];
  private readonly docTokens: number[] = [];
  private readonly docNllQ: number[] = [];
  private docOpen = false;
  private readonly lpFp: Float64Array;
  private readonly lpQ: Float64Array;

  constructor(vocabSize: number) {
    this.lpFp = new Float64Array(vocabSize);
    this.lpQ = new Float64Array(vocabSize);
  }

  beginDocument(): void {
    this.docDelta.push(0);
    this.docTokens.push(0);
    this.docNllQ.push(0);
    this.docOpen = true;
  }

  /** Scores one position: `target` is the token that actually follows. Returns the quantized NLL. */
  add(logitsFp: ArrayLike<number>, logitsQ: ArrayLike<number>, target: number): number {
    if (!this.docOpen) this.beginDocument();
    const lpFp = logSoftmax(logitsFp, this.lpFp);
    const lpQ = logSoftmax(logitsQ, this.lpQ);
    const nq = negativeLogLikelihood(lpQ, target);
    const nf = negativeLogLikelihood(lpFp, target);
    this.nllQ += nq;
    this.nllFp += nf;
    this.kl += klDivergence(lpFp, lpQ);
    if (argmax(logitsFp) === argmax(logitsQ)) this.agree++;
    this.tokens++;
    const d = this.docDelta.length - 1;
    this.docDelta[d] += nq - nf;
    this.docTokens[d]++;
    this.docNllQ[d] += nq;
    return nq;
  }

  get scoredTokens(): number {
    return this.tokens;
  }

  /** Summed quantized NLL of each document so far. */
  get documentNll(): readonly number[] {
    return this.docNllQ;
  }

  result(): { perplexity: number; perplexityFp: number; kl: number; top1: number; nllDelta: number; nllDeltaStderr: number; scoredTokens: number } {
    const n = this.tokens;
    const delta = clusteredMean(this.docDelta, this.docTokens);
    return {
      perplexity: Math.exp(this.nllQ / n),
      perplexityFp: Math.exp(this.nllFp / n),
      kl: this.kl / n,
      top1: this.agree / n,
      nllDelta: delta.mean,
      nllDeltaStderr: delta.stderr,
      scoredTokens: n,
    };
  }
}
