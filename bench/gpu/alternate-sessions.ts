// Why is a packed step slower inside evaluate() than alone (about 25 against 18 ms, K4V2 at 8k, 16 layers
// of Llama-3.2-1B in float16: gpu-worker-lanes.md)? Inside a job a full-precision session steps between
// the quantized one's steps, and the sessions are opened with evaluate()'s options (no maxContext, ORT's
// default intra-op spinning) where the lone-session bench sets maxContext and turns spinning off. This
// probe times the quantized session's steps alone and alternating with the partner, for each setting,
// in one process with the worker's reserved-rows options (kvRows 'reserve', the size-exact buffer cache).
//   node .device/device-entry.mjs alternate [--ep webgpu] [--model Llama-3.2-1B:16] [--context 8192] [--steps 64]
//     [--cache K4V2] [--partner fp16] [--spinning off,default] [--max-context bench,default] [--fill chunks,one]
//     [--dtype float16] [--out FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createOnnxSession, loadHuggingFace, type ExecutionProvider, type OnnxDecoderSession, type SessionOptions } from '@kvbench/engine';
import { cachePolicy, decodeMaxContext, ensureRandomModel, fillChunk, fillContext, median, parseModels, WARMUP } from './decode-peer';

export async function alternateSessionsMain(argv: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      ep: { type: 'string', default: 'webgpu' },
      model: { type: 'string', default: 'Llama-3.2-1B:16' },
      vocab: { type: 'string', default: '8192' },
      context: { type: 'string', default: '8192' },
      steps: { type: 'string', default: '64' },
      cache: { type: 'string', default: 'K4V2' },
      partner: { type: 'string', default: 'fp16' },
      spinning: { type: 'string', default: 'off,default' },
      'max-context': { type: 'string', default: 'bench,default' },
      fill: { type: 'string', default: 'chunks' },
      dtype: { type: 'string', default: 'float16' },
      'models-dir': { type: 'string', default: '/tmp/kvb-gpu/models' },
      out: { type: 'string' },
    },
  });
  const [{ preset, layers }] = parseModels(a.model!);
  const context = Number(a.context);
  const steps = Number(a.steps);
  const dtype = a.dtype as 'float16' | 'float32';
  const model = await loadHuggingFace(ensureRandomModel(a['models-dir']!, preset, layers, Number(a.vocab)));
  const out = [
    `# A packed session's decode step alone and with another session stepping between`,
    '',
    `\`node .device/device-entry.mjs alternate ${argv.join(' ')}\`: random-weight ${preset} (${layers} layers), ${dtype}, kvRows 'reserve', WebGPU storage buffers cached by exact size (the worker's reserved-rows lane); ` +
      `${a.cache} (quanto per-token G64, residual 128) and its partner ${a.partner}, both filled to ${context} tokens; ${WARMUP} warm-up steps, then ${steps} steps of ${a.cache} alone and ${steps} with one ${a.partner} step before each (only ${a.cache}'s steps timed). Median step in ms.`,
    '',
    '| intra-op spinning | maxContext | fill | alone | alternating | alternating / alone |',
    '|---|---|---|---:|---:|---:|',
  ];
  const write = () => a.out && writeFileSync(a.out, out.join('\n') + '\n');
  const settings = a.spinning!.split(',').flatMap((spinning) =>
    a['max-context']!.split(',').flatMap((max) => a.fill!.split(',').map((fill) => ({ spinning, max, fill }))),
  );
  for (const { spinning, max, fill } of settings) {
    const sessionOptions: SessionOptions = {
      ...(a.ep === 'webgpu' ? { executionProviders: [{ name: 'webgpu', storageBufferCacheMode: 'simple' } as never] } : {}),
      ...(spinning === 'off' ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    };
    const options = {
      provider: a.ep as ExecutionProvider, dtype, sessionOptions, kvRows: 'reserve' as const, attention: 'fused' as const,
      ...(max === 'bench' ? { maxContext: decodeMaxContext([context], 2 * steps + WARMUP) } : {}),
    };
    let quantized: OnnxDecoderSession | null = null;
    let partner: OnnxDecoderSession | null = null;
    try {
      quantized = await createOnnxSession(model, cachePolicy(a.cache!, 128), options);
      partner = await createOnnxSession(model, cachePolicy(a.partner!, 128), options);
      // chunks: prefill and appends of at most 512 tokens (the decode benches); one: one prefill of the
      // whole context, as ppl-decode gives its prompt (the session chunks it itself).
      const chunk = fill === 'one' ? context : fillChunk(model.config.heads, context, dtype === 'float16' ? 2 : 4, 256, 512);
      await fillContext(quantized, context, chunk);
      await fillContext(partner, context, chunk);
      const token = (s: number) => (s * 31 + context) % model.config.vocabSize;
      const timed = async (s: number) => {
        const t = performance.now();
        await quantized!.step(token(s));
        return performance.now() - t;
      };
      for (let s = 0; s < WARMUP; s++) {
        await partner.step(token(s));
        await timed(s);
      }
      const alone: number[] = [];
      for (let s = 0; s < steps; s++) alone.push(await timed(s));
      const alternating: number[] = [];
      for (let s = 0; s < steps; s++) {
        await partner.step(token(s));
        alternating.push(await timed(s));
      }
      const [x, y] = [median(alone), median(alternating)];
      out.push(`| ${spinning} | ${max} | ${fill} | ${x.toFixed(2)} | ${y.toFixed(2)} | ${(y / x).toFixed(2)} |`);
    } catch (error) {
      out.push(`| ${spinning} | ${max} | ${fill} | failed: ${(error as Error).message.slice(0, 160).replace(/\|/g, '/')} | | |`);
    } finally {
      await quantized?.dispose();
      await partner?.dispose();
    }
    console.log(out[out.length - 1]);
    write();
  }
  console.log(out.join('\n'));
  write();
}
