// The reference's products split over helper threads: the same numbers, bit for bit, as on one thread,
// in every family (biases, QK-norm, windows); weights loaded from files are already in shared memory.
import { afterAll, describe, expect, it } from 'vitest';
import { sampleKvCache } from '../src/analysis/cache-sample';
import { loadModel, presetConfig, randomModelWeights, TINY_PRESET_NAMES, type ModelConfig } from '../src/model';
import { MatmulThreads, ReferenceModel, referenceThreadCount } from '../src/reference';

const TOKENS = [5, 17, 250, 3, 99, 42, 42, 7, 300, 11];

describe('reference products on several threads', () => {
  // Every product split (minParallelMacs 0), over 3 threads: row ranges of unequal length.
  const threads = new MatmulThreads(3, { minParallelMacs: 0 });
  afterAll(() => threads.close());

  it('gives the same caches, queries and logits as one thread, bit for bit, in every family', () => {
    for (const preset of TINY_PRESET_NAMES) {
      const config: ModelConfig = preset === 'tiny-mistral' ? { ...presetConfig(preset), slidingWindow: 3 } : presetConfig(preset);
      const w = randomModelWeights(config, 11, 0.2);
      const queries = (into: number[][]) => (l: number, q: Float64Array, pos: number) => l === 1 && (into[pos] = [...q]);
      const [oneQ, splitQ]: number[][][] = [[], []];
      const one = new ReferenceModel(config, w, { onQuery: queries(oneQ) });
      const split = new ReferenceModel(config, w, { onQuery: queries(splitQ), threads });
      const before = threads.splitProducts;
      for (const [from, to] of [[0, 3], [3, 9], [9, 10]]) {
        const a = one.forwardBlock(TOKENS.slice(from, to), from)!;
        const b = split.forwardBlock(TOKENS.slice(from, to), from)!;
        expect([...b].map((x, i) => Object.is(x, a[i])).every(Boolean), preset).toBe(true);
      }
      expect(threads.splitProducts - before, preset).toBe(3 * (7 * config.layers + 1));
      expect(split.keyCache, preset).toEqual(one.keyCache);
      expect(split.valueCache, preset).toEqual(one.valueCache);
      expect(splitQ, preset).toEqual(oneQ);
    }
  });

  it('serves two models in turn, and a cache sample equals the one-thread sample', () => {
    const a = presetConfig('tiny-qwen3-qknorm');
    const b = presetConfig('tiny-llama3-gqa');
    const [wa, wb] = [randomModelWeights(a, 1, 0.2), randomModelWeights(b, 2, 0.2)];
    const docs = [TOKENS, TOKENS.slice(2, 7)];
    for (const [config, w] of [[a, wa], [b, wb], [a, wa]] as const) {
      const serial = sampleKvCache(config, w, docs, { withQueries: true, threads: null });
      const split = sampleKvCache(config, w, docs, { withQueries: true, threads });
      expect(split).toEqual(serial);
    }
  });

  it('takes the weights of a loaded checkpoint in place (shared memory), and refuses work once closed', async () => {
    const model = await loadModel('stories260k');
    expect(model.weights.layers[0].wq.buffer).toBeInstanceOf(SharedArrayBuffer);
    const own = new MatmulThreads(2, { minParallelMacs: 0 });
    const reference = new ReferenceModel(model.config, model.weights, { threads: own });
    const serial = new ReferenceModel(model.config, model.weights);
    expect(reference.forwardBlock([1, 2, 3], 0)).toEqual(serial.forwardBlock([1, 2, 3], 0));
    own.close();
    expect(() => reference.forwardBlock([4], 3)).toThrow(/closed/);
  });

  it('starts no helper thread for products below the threshold (a tiny model runs on the caller alone)', () => {
    const lazy = new MatmulThreads(4);
    try {
      const config = presetConfig('tiny-llama3-gqa');
      const w = randomModelWeights(config, 3, 0.2);
      const split = sampleKvCache(config, w, [TOKENS], { threads: lazy });
      expect(split).toEqual(sampleKvCache(config, w, [TOKENS], { threads: null }));
      expect(lazy.started).toBe(false);
      expect(lazy.splitProducts).toBe(0);
    } finally {
      lazy.close();
    }
  });

  it('reads KVBENCH_REFERENCE_THREADS, naming it when it is wrong', () => {
    expect(referenceThreadCount({ KVBENCH_REFERENCE_THREADS: '3' })).toBe(3);
    expect(referenceThreadCount({})).toBeGreaterThanOrEqual(1);
    expect(() => referenceThreadCount({ KVBENCH_REFERENCE_THREADS: 'many' })).toThrow(/KVBENCH_REFERENCE_THREADS/);
    expect(() => referenceThreadCount({ KVBENCH_REFERENCE_THREADS: '0' })).toThrow(/KVBENCH_REFERENCE_THREADS/);
    expect(() => new MatmulThreads(0)).toThrow(/threads/);
  });
});
