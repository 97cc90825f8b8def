import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS, ENGINE_ASSETS_DIR } from '../src/model';
import { Llama2cTokenizer, loadTokenizer } from '../src/tokenizer';

let tokenizer: Llama2cTokenizer;
const pieceText = (id: number): string => Buffer.from(tokenizer.pieces[id]).toString('latin1');

beforeAll(async () => {
  tokenizer = (await loadTokenizer('stories260k')) as Llama2cTokenizer;
});

describe('llama2.c tokenizer (tok512.bin)', () => {
  it('has the layout SOURCE.txt describes', () => {
    expect(tokenizer).toBeInstanceOf(Llama2cTokenizer);
    expect(tokenizer.vocabSize).toBe(512);
    expect([pieceText(0), pieceText(1), pieceText(2)]).toEqual(['<unk>', '\n<s>\n', '\n</s>\n']);
    expect(pieceText(3)).toBe('<0x00>');
    expect(pieceText(3 + 0xff)).toBe('<0xFF>');
  });

  it('encodes with the dummy prefix space and greedy best-score merges', () => {
    const ids = tokenizer.encode('Once upon a time');
    // The pieces spell the text with its dummy-prefix space...
    expect(ids.map(pieceText).join('')).toBe(' Once upon a time');
    // ...and no adjacent pair could still merge (the loop ran to its fixed point).
    const vocab = new Set(tokenizer.pieces.map((_, id) => pieceText(id)));
    for (let i = 0; i + 1 < ids.length; i++) expect(vocab.has(pieceText(ids[i]) + pieceText(ids[i + 1]))).toBe(false);
    expect(tokenizer.encode('Once upon a time', { bos: true })).toEqual([1, ...ids]);
    expect(tokenizer.encode('')).toEqual([]);
  });

  it('derives ids by hand for a two-letter string', () => {
    // " a" is a single piece if present; otherwise the characters stand alone.
    const id = tokenizer.pieces.findIndex((_, i) => pieceText(i) === ' a');
    expect(tokenizer.encode('a')).toEqual(id >= 0 ? [id] : [tokenizer.pieces.findIndex((_, i) => pieceText(i) === ' '), tokenizer.pieces.findIndex((_, i) => pieceText(i) === 'a')]);
  });

  it('falls back to byte tokens (byte + 3) for characters outside the vocabulary', () => {
    const ids = tokenizer.encode('日');
    const bytes = [...Buffer.from('日', 'utf8')];
    expect(ids.slice(-3)).toEqual(bytes.map((b) => b + 3));
    expect(tokenizer.decode([1, ...ids])).toBe('日');
  });

  it('round-trips TinyStories validation text (BOS strips the dummy space)', () => {
    const text = readFileSync(join(ENGINE_ASSETS_DIR, 'data', 'tinystories', 'valid-a.txt'), 'utf8');
    const docs = text.split(/\n\s*\n/).map((d) => d.trim()).filter(Boolean).slice(0, 200);
    for (const doc of docs) expect(tokenizer.decode(tokenizer.encode(doc, { bos: true }))).toBe(doc);
    // Without BOS the dummy-prefix space stays, as in llama2.c's decode().
    expect(tokenizer.decode(tokenizer.encode('Hi there'))).toBe(' Hi there');
  });

  it('merges exactly as run.c\'s quadratic loop does (random strings and WikiText)', () => {
    // run.c transcribed: scan all adjacent pairs, merge the best (leftmost on ties), repeat.
    const vocab = new Map<string, number>();
    tokenizer.pieces.forEach((_, id) => { if (!vocab.has(pieceText(id))) vocab.set(pieceText(id), id); });
    const naive = (ids: number[]): number[] => {
      ids = [...ids];
      for (;;) {
        let bestScore = -1e10;
        let bestId = -1;
        let bestIndex = -1;
        for (let i = 0; i + 1 < ids.length; i++) {
          const merged = vocab.get(pieceText(ids[i]) + pieceText(ids[i + 1]));
          if (merged !== undefined && tokenizer.scores[merged] > bestScore) [bestScore, bestId, bestIndex] = [tokenizer.scores[merged], merged, i];
        }
        if (bestIndex < 0) return ids;
        ids.splice(bestIndex, 2, bestId);
      }
    };
    const unmerged = (text: string): number[] =>
      [...(' ' + text)].flatMap((c) => {
        const id = vocab.get(Buffer.from(c, 'utf8').toString('latin1'));
        return id !== undefined ? [id] : [...Buffer.from(c, 'utf8')].map((b) => b + 3);
      });
    const wiki = readFileSync(join(ENGINE_ASSETS_DIR, 'data', 'wikitext-2', 'wikitext-2-raw-test.crlf.txt'), 'utf8').slice(0, 1500);
    let seed = 1;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = 'aaabeeehilnnoorsstt  ..,!?\'"Ééü日\n';
    const samples = [wiki, ...Array.from({ length: 60 }, () => Array.from({ length: 5 + Math.floor(random() * 80) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''))];
    for (const text of samples) expect(tokenizer.encode(text)).toEqual(naive(unmerged(text)));
  });

  it('rejects a tokenizer file that does not fit the vocab size', () => {
    const bytes = readFileSync(BUNDLED_MODELS.stories260k.tokenizer);
    expect(() => Llama2cTokenizer.parse(bytes.subarray(0, 1000), 512, 'tok512.bin')).toThrow(/tok512\.bin: truncated/);
    expect(() => Llama2cTokenizer.parse(bytes, 500, 'tok512.bin')).toThrow(/trailing bytes/);
  });
});
