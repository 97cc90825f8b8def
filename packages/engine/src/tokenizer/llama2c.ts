// The llama2.c tokenizer (tokenizer.bin / tok512.bin), byte-for-byte the algorithm of run.c:
// dummy-prefix space, UTF-8 characters with byte fallback (id = byte + 3), then greedy merges of the
// adjacent pair whose concatenation is in the vocabulary with the highest score (leftmost on ties).
import { readFileSync } from 'node:fs';
import type { EncodeOptions, TextTokenizer } from './types';

const BYTE_FALLBACK_OFFSET = 3; // ids 3..258 are <0x00>..<0xFF>
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

export class Llama2cTokenizer implements TextTokenizer {
  readonly bosId = 1;
  readonly eosId = 2;
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  /** Raw bytes of each piece (byte tokens keep their "<0xAB>" text, as in the file). */
  readonly pieces: Uint8Array[];
  readonly scores: Float32Array;
  private readonly pieceText: string[];
  private readonly idOf = new Map<string, number>();

  constructor(pieces: Uint8Array[], scores: Float32Array, maxTokenLength: number) {
    this.pieces = pieces;
    this.scores = scores;
    this.vocabSize = pieces.length;
    this.maxTokenLength = maxTokenLength;
    // latin1 keeps bytes 1:1 so lookups work on raw byte strings, like run.c's strcmp.
    this.pieceText = pieces.map((p) => Buffer.from(p).toString('latin1'));
    this.pieceText.forEach((text, id) => {
      if (!this.idOf.has(text)) this.idOf.set(text, id);
    });
  }

  /** Parses the tokenizer file format (see assets/stories260k/SOURCE.txt); `vocabSize` comes from the model. */
  static parse(bytes: Uint8Array, vocabSize: number, file: string): Llama2cTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    const need = (n: number, what: string): void => {
      if (offset + n > bytes.byteLength) throw new Error(`${file}: truncated tokenizer while reading ${what}`);
    };
    need(4, 'max_token_length');
    const maxTokenLength = view.getInt32(offset, true);
    offset += 4;
    const pieces: Uint8Array[] = [];
    const scores = new Float32Array(vocabSize);
    for (let id = 0; id < vocabSize; id++) {
      need(8, `token ${id}`);
      scores[id] = view.getFloat32(offset, true);
      const length = view.getInt32(offset + 4, true);
      offset += 8;
      if (length < 0 || length > Math.max(maxTokenLength, 1) * 4) {
        throw new Error(`${file}: token ${id} has invalid byte length ${length}`);
      }
      need(length, `token ${id} bytes`);
      pieces.push(bytes.slice(offset, offset + length));
      offset += length;
    }
    if (offset !== bytes.byteLength) {
      throw new Error(`${file}: ${bytes.byteLength - offset} trailing bytes after ${vocabSize} tokens (wrong vocab size?)`);
    }
    return new Llama2cTokenizer(pieces, scores, maxTokenLength);
  }

  static load(path: string, vocabSize: number): Llama2cTokenizer {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new Error(`${path}: cannot read tokenizer: ${(error as Error).message}`);
    }
    return Llama2cTokenizer.parse(bytes, vocabSize, path);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (text.length > 0) {
      // sentencepiece add_dummy_prefix, then one token per UTF-8 character or its bytes.
      for (const char of ' ' + text) {
        const bytes = Buffer.from(char, 'utf8');
        const id = this.idOf.get(bytes.toString('latin1'));
        if (id !== undefined) ids.push(id);
        else for (const byte of bytes) ids.push(byte + BYTE_FALLBACK_OFFSET);
      }
    }
    const merged = this.mergeGreedily(ids);
    return options.bos ? [this.bosId, ...merged] : merged;
  }

  /**
   * run.c's merge loop (repeatedly merge the best-scoring adjacent pair, leftmost on ties) in
   * O(n log n): a linked list of symbols and a max-heap of candidate pairs, stale entries skipped.
   * A symbol's original index orders it among the live ones, so (score, left index) is run.c's choice.
   */
  private mergeGreedily(initial: number[]): number[] {
    const n = initial.length;
    const id = Int32Array.from(initial);
    const next = new Int32Array(n).map((_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = new Int32Array(n).map((_, i) => i - 1);
    const version = new Int32Array(n); // bumps whenever a symbol changes or dies
    type Candidate = { score: number; left: number; right: number; merged: number; leftVersion: number; rightVersion: number };
    const heap: Candidate[] = [];
    const better = (a: Candidate, b: Candidate): boolean => a.score > b.score || (a.score === b.score && a.left < b.left);
    const push = (c: Candidate): void => {
      heap.push(c);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!better(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    };
    const pop = (): Candidate => {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let best = i;
          if (l < heap.length && better(heap[l], heap[best])) best = l;
          if (r < heap.length && better(heap[r], heap[best])) best = r;
          if (best === i) break;
          [heap[i], heap[best]] = [heap[best], heap[i]];
          i = best;
        }
      }
      return top;
    };
    const consider = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const merged = this.idOf.get(this.pieceText[id[left]] + this.pieceText[id[right]]);
      if (merged === undefined || !(this.scores[merged] > -1e10)) return; // run.c starts best_score at -1e10
      push({ score: this.scores[merged], left, right, merged, leftVersion: version[left], rightVersion: version[right] });
    };
    for (let i = 0; i + 1 < n; i++) consider(i, i + 1);
    while (heap.length > 0) {
      const c = pop();
      if (version[c.left] !== c.leftVersion || version[c.right] !== c.rightVersion || next[c.left] !== c.right) continue;
      id[c.left] = c.merged;
      version[c.left]++;
      version[c.right]++;
      const after = next[c.right];
      next[c.left] = after;
      if (after >= 0) prev[after] = c.left;
      next[c.right] = -2; // dead
      consider(prev[c.left], c.left);
      consider(c.left, after);
    }
    const out: number[] = [];
    for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.push(id[i]);
    return out;
  }

  /** Raw bytes a token contributes after `previous` (null at the start); run.c's decode(). */
  pieceBytes(previous: number | null, id: number): Uint8Array {
    const piece = this.pieces[id];
    if (piece === undefined) throw new Error(`token id ${id} outside vocabulary [0, ${this.vocabSize})`);
    const byte = BYTE_PIECE.exec(this.pieceText[id]);
    if (byte) return Uint8Array.of(parseInt(byte[1], 16));
    // After BOS sentencepiece strips the leading whitespace of the first piece.
    if (previous === this.bosId && piece[0] === 0x20) return piece.subarray(1);
    return piece;
  }

  /** Concatenates the pieces (BOS/EOS skipped) and decodes the bytes as UTF-8. */
  decode(ids: number[]): string {
    const chunks: Uint8Array[] = [];
    let previous: number | null = null;
    for (const id of ids) {
      if (id !== this.bosId && id !== this.eosId) chunks.push(this.pieceBytes(previous, id));
      previous = id;
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
