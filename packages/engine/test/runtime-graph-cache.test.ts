// Built graphs are reused from memory and from a cache directory, and large weights go to ONNX
// external data that the session loads by path.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/model';
import { clearGraphCache, createOnnxSession, defaultCachePolicy } from '../src/runtime';

const dir = mkdtempSync(join(tmpdir(), 'kvbench-graphs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function logitsOf(session: Awaited<ReturnType<typeof createOnnxSession>>): Promise<number[]> {
  const first = Array.from(await session.prefill([1, 403, 407]));
  const second = Array.from(await session.step(261));
  await session.dispose();
  return [...first, ...second];
}

describe('graph cache', () => {
  it('writes the decoder graph under cacheDir once and loads it from there in a fresh process state', async () => {
    const model = await loadModel('stories260k');
    const expected = await logitsOf(await createOnnxSession(model, defaultCachePolicy(null), { cacheDir: dir }));
    const files = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
    expect(files).toHaveLength(1);
    const written = statSync(join(dir, files[0])).mtimeMs;
    clearGraphCache();
    expect(await logitsOf(await createOnnxSession(model, defaultCachePolicy(null), { cacheDir: dir }))).toEqual(expected);
    expect(statSync(join(dir, files[0])).mtimeMs).toBe(written);
  });

  it('puts weights above externalDataAbove into <graph>.onnx.data and runs from the file', async () => {
    const model = await loadModel('stories260k');
    clearGraphCache();
    const expected = await logitsOf(await createOnnxSession(model, defaultCachePolicy(null)));
    clearGraphCache();
    const external = join(dir, 'external');
    const got = await logitsOf(await createOnnxSession(model, defaultCachePolicy(null), { cacheDir: external, externalDataAbove: 0 }));
    const data = readdirSync(external).filter((f) => f.endsWith('.onnx.data'));
    expect(data).toHaveLength(1);
    expect(existsSync(join(external, data[0].replace(/\.data$/, '')))).toBe(true);
    expect(got).toEqual(expected);
    clearGraphCache();
  });
});
