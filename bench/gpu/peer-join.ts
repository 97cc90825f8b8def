// Joins decode-peer.ts's JSON (our engine) with decode_peer.py's JSON (transformers + PyTorch) into
// gpu-peer.md. Either side may be missing or partial; its cells then read "-" and the notes say why.
//
// Usage: npx tsx bench/gpu/peer-join.ts --ours OURS.json --peer PEER.json --out gpu-peer.md
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { baseCache, RESERVE_SUFFIX, type OursRow } from './decode-peer';

interface PeerRow {
  model: string;
  cache: string;
  context: number;
  status: string;
  note?: string;
  stepMsMedian?: number;
  tokensPerSecond?: number;
  fillSeconds?: number;
  cacheBytes?: number;
  cacheBytesPerTokenMeasured?: number | null;
  cacheBytesPerTokenAccounted?: number;
  historyTokens?: number;
  residualTokens?: number;
  allocPeakDeltaMiB?: number;
  allocDecodePeakDeltaMiB?: number;
  reservedPeakDeltaMiB?: number;
  gpuPeakDeltaMiB?: number | null;
  gpuDecodePeakDeltaMiB?: number | null;
}

interface Report<R> {
  recorded?: string;
  command?: string;
  setup?: Record<string, unknown>;
  rows: R[];
  [key: string]: unknown;
}

function readJson<R>(path: string | undefined): Report<R> | null {
  if (!path || !existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Report<R>;
  } catch (error) {
    console.error(`cannot read ${path}: ${(error as Error).message}`);
    return null;
  }
}

const f = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const mib = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '-' : (bytes / 2 ** 20).toFixed(2));

export function joinMarkdown(ours: Report<OursRow> | null, peer: Report<PeerRow> | null): string {
  const ok = <R extends { status: string }>(rows: R[] | undefined) => (rows ?? []).filter((r) => r.status === 'ok');
  const oursOk = ok(ours?.rows);
  const peerOk = ok(peer?.rows);
  const key = (r: { model: string; cache: string; context: number }) => `${r.model}|${r.cache}|${r.context}`;
  const oursBy = new Map(oursOk.map((r) => [key(r), r]));
  const peerBy = new Map(peerOk.map((r) => [key(r), r]));
  // Our caches with reserved rows are compared with the peer's cache of the same name without the suffix.
  const peerOf = (k: { model: string; cache: string; context: number }) => peerBy.get(key({ ...k, cache: baseCache(k.cache) }));
  const cacheOrder = ['fp16', 'K4V4', 'K4V2', 'K2V2'].flatMap((c) => [c, `${c}${RESERVE_SUFFIX}`]);
  const keys = [...new Set([...oursBy.keys(), ...peerBy.keys()])].map((k) => {
    const [model, cache, context] = k.split('|');
    return { model, cache, context: Number(context) };
  });
  keys.sort((a, b) => a.model.localeCompare(b.model) || a.context - b.context || cacheOrder.indexOf(a.cache) - cacheOrder.indexOf(b.cache));

  const os = (ours?.setup ?? {}) as { provider?: string; dtype?: string; steps?: number; warmup?: number; residual?: number; vocab?: number; maxChunk?: number; scoreMiB?: number };
  const ps = (peer?.setup ?? {}) as { steps?: number; warmup?: number; chunk?: number; cudnnSdp?: boolean };
  const versions = (peer?.versions ?? {}) as Record<string, string>;
  const dtypes = [...new Set(oursOk.map((r) => r.dtype))].join(', ') || '-';
  const lines: string[] = [
    '# Decode speed and GPU memory: our ONNX engine (WebGPU) vs transformers + PyTorch (CUDA)',
    '',
    `Recorded ${ours?.recorded ?? '?'} (ours) / ${peer?.recorded ?? '?'} (peer) on the GPU machine (device tool) by bench/gpu/device-run.sh:`,
    `\`${ours?.command ?? 'decode-peer: no result'}\` and \`${peer?.command ?? 'decode_peer.py: no result'}\`.`,
    '',
    `- models: random weights with the real widths of **Llama-3.2-1B** (hidden 2048, 32 heads, 8 KV heads, head_dim 64, MLP 8192) and **Qwen3-8B** (hidden 4096, 32 heads, 8 KV heads, head_dim 128, MLP 12288, q/k norm), **fewer layers and a reduced vocabulary ${os.vocab ?? '?'}** (the model column says how many; of 16 / 36 layers and 128256 / 151936 tokens): per-token numbers scale with layers, the fixed per-step costs do not`,
    `- ours: onnxruntime-node ${ours ? '' : '(no result) '}${os.provider ?? '?'} provider, compute and cache dtype ${dtypes}${os.provider && os.provider !== 'cpu' ? ', cache state kept on the GPU between steps (gpu-buffer outputs)' : ''}, logits returned to the host each step`,
    `- peer: transformers ${versions.transformers ?? '?'}, torch ${versions.torch ?? '?'} (CUDA ${versions.cuda ?? '?'}), float16, attention ${JSON.stringify(peer?.attention ?? '?')}${ps.cudnnSdp === false ? ' with cuDNN SDPA off (flash / memory-efficient kernels)' : ps.cudnnSdp ? ' with cuDNN SDPA on (a plan per key length)' : ''}; fp16 = transformers' DynamicCache; the quantized caches = a transformers Cache (layers subclass ${String(peer?.cacheLayerBase ?? '?')}) with the same quantizer: bit-packed uint8 codes + fp16 scale/shift, whole history dequantized each step; logits copied to the host each step as ours`,
    `- caches: fp16 (no quantization; ours in the compute dtype); KxVy = keys x bits, values y bits, quanto asymmetric min-max, per-token groups of 64 along head_dim, fp16 metadata, quantize-all prefill, residual ${os.residual ?? 128} fp16 tokens appended to the packed history whenever it reaches ${os.residual ?? 128}; NAME-reserve (ours only, compared with the peer's NAME) = that cache with rows reserved ahead (kvRows 'reserve': 1.5x the tokens, multiples of 256, in the residual and the packed history) in a process whose WebGPU storage buffers are cached by exact size`,
    `- the context is built in chunks (ours: prefill/append, chunk <= ${os.maxChunk ?? '?'} tokens and attention scores <= ${os.scoreMiB ?? '?'} MiB per chunk; peer: ${ps.chunk ?? '?'}-token forward calls), then ${os.warmup ?? 2} warm-up and ${os.steps ?? '?'} timed decode steps (peer ${ps.warmup ?? 2} and ${ps.steps ?? '?'}); step = median (a flush of the residual, every ${os.residual ?? 128} tokens, can fall inside the timed steps: one step of them, which the median leaves out)`,
    '',
    '## Decode speed',
    '',
    '| model | context | cache | ours dtype | ours tok/s | peer tok/s | ours / peer | ours step (ms) | peer step (ms) |',
    '|---|---:|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const k of keys) {
    const o = oursBy.get(key(k));
    const p = peerOf(k);
    const ratio = o?.tokensPerSecond && p?.tokensPerSecond ? o.tokensPerSecond / p.tokensPerSecond : undefined;
    lines.push(`| ${k.model} | ${k.context} | ${k.cache} | ${o?.dtype ?? '-'} | ${f(o?.tokensPerSecond)} | ${f(p?.tokensPerSecond)} | ${f(ratio, 3)} | ${f(o?.stepMsMedian, 2)} | ${f(p?.stepMsMedian, 2)} |`);
  }
  lines.push(
    '',
    '## KV cache bytes: held vs accounted',
    '',
    "Accounted = @kvbench/quant's kvBytesPerToken (quantized: L·H·D·[(b_K + 2·16/64) + (b_V + 2·16/64)]/8 bytes per token; fp16: 2·L·H·D·2). Measured per token = the packed history's bytes / its tokens (quantized caches) or held / tokens (fp16). Held = history + fp residual, as the engine reports (session.memory()) and as the peer's tensors add up; ours reserved = what our cache tensors occupy, rows reserved ahead included.",
    '',
    '| model | context | cache | ours held (MiB) | ours reserved (MiB) | ours B/token | accounted B/token | ours / accounted | within 5% | peer held (MiB) | peer B/token | peer / accounted |',
    '|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|',
  );
  for (const k of keys) {
    const o = oursBy.get(key(k));
    const p = peerOf(k);
    const acc = o?.kvBytesPerTokenAccounted ?? p?.cacheBytesPerTokenAccounted;
    const r = o?.kvBytesPerTokenMeasured && acc ? o.kvBytesPerTokenMeasured / acc : undefined;
    const pr = p?.cacheBytesPerTokenMeasured && p.cacheBytesPerTokenAccounted ? p.cacheBytesPerTokenMeasured / p.cacheBytesPerTokenAccounted : undefined;
    lines.push(
      `| ${k.model} | ${k.context} | ${k.cache} | ${mib(o?.kvHeldBytes)} | ${mib(o?.kvReservedBytes)} | ${f(o?.kvBytesPerTokenMeasured, 0)} | ${f(acc, 0)} | ${f(r, 4)} | ${r === undefined ? '-' : Math.abs(r - 1) <= 0.05 ? 'yes' : 'NO'} | ${mib(p?.cacheBytes)} | ${f(p?.cacheBytesPerTokenMeasured ?? undefined, 0)} | ${f(pr, 4)} |`,
    );
  }
  lines.push(
    '',
    '## GPU memory',
    '',
    'Device memory in use (nvidia-smi memory.used, sampled every 50 ms; short spikes between samples are missed) minus the level once the model was loaded (ours: each (model, cache) runs in its own process, baseline after session creation; peer: one process per run, baseline before each cache after empty_cache()). "fill+decode" covers building this context from the previous one plus the decode steps; "decode" only the steps. Both sides keep freed memory in their allocators (ORT WebGPU buffer cache; PyTorch caching allocator), so a peak includes what building the context needed. The peer also reports torch.cuda.max_memory_allocated over the same spans (tensors only, no allocator slack or CUDA context).',
    '',
    '| model | context | cache | ours peak fill+decode (MiB) | ours peak decode (MiB) | peer peak fill+decode (MiB) | peer peak decode (MiB) | peer max_allocated fill+decode (MiB) | peer max_allocated decode (MiB) |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const k of keys) {
    const o = oursBy.get(key(k));
    const p = peerOf(k);
    lines.push(
      `| ${k.model} | ${k.context} | ${k.cache} | ${f(o?.gpuPeakDeltaMiB, 0)} | ${f(o?.gpuDecodePeakDeltaMiB, 0)} | ${f(p?.gpuPeakDeltaMiB, 0)} | ${f(p?.gpuDecodePeakDeltaMiB, 0)} | ${f(p?.allocPeakDeltaMiB, 0)} | ${f(p?.allocDecodePeakDeltaMiB, 0)} |`,
    );
  }
  lines.push('', '## Context build time (not a benchmark: chunk sizes differ)', '', '| model | context | cache | ours fill (s) | ours chunk | peer fill (s) |', '|---|---:|---|---:|---:|---:|');
  for (const k of keys) {
    const o = oursBy.get(key(k));
    const p = peerOf(k);
    lines.push(`| ${k.model} | ${k.context} | ${k.cache} | ${f(o?.fillSeconds)} | ${o?.fillChunk ?? '-'} | ${f(p?.fillSeconds)} |`);
  }

  const sanity = (peer?.sanity ?? {}) as Record<string, { cache: string; maxRelErrVsFp16Cache?: number; argmaxAgreement?: number; seqLength?: number; expectedSeqLength?: number; historyBytesPerToken?: number; accountedBytesPerToken?: number; error?: string }[]>;
  if (Object.keys(sanity).length) {
    lines.push(
      '',
      "## Peer cache sanity (inside the model's forward)",
      '',
      '200 tokens in 64-token chunks + 8 decode steps through the packed cache vs the same with DynamicCache: logits relative error (max over positions), argmax agreement, sequence length bookkeeping and packed bytes per token.',
      '',
      '| model | cache | max rel. error vs fp16 cache | argmax agreement | seq length (expected) | history B/token | accounted B/token |',
      '|---|---|---:|---:|---|---:|---:|',
    );
    for (const [model, rows] of Object.entries(sanity)) {
      for (const s of rows) {
        lines.push(
          s.error
            ? `| ${model} | ${s.cache} | error: ${s.error.replace(/\|/g, '/').slice(0, 200)} | | | | |`
            : `| ${model} | ${s.cache} | ${s.maxRelErrVsFp16Cache?.toExponential(2) ?? '-'} | ${f(s.argmaxAgreement, 3)} | ${s.seqLength} (${s.expectedSeqLength}) | ${f(s.historyBytesPerToken, 0)} | ${f(s.accountedBytesPerToken, 0)} |`,
        );
      }
    }
  }

  const notOk = [
    ...(ours?.rows ?? []).filter((r) => r.status !== 'ok').map((r) => `ours ${r.model} ${r.cache} ${r.context || ''}: ${r.status}${r.note ? ` (${r.note})` : ''}`),
    ...(peer?.rows ?? []).filter((r) => r.status !== 'ok').map((r) => `peer ${r.model} ${r.cache} ${r.context || ''}: ${r.status}${r.note ? ` (${r.note})` : ''}`),
    ...[...new Set(oursOk.filter((r) => r.note).map((r) => `ours ${r.model} ${r.cache}: ${r.note}`))],
  ];
  if (!ours) notOk.push('ours: no result file');
  if (!peer) notOk.push('peer: no result file');
  if (notOk.length) lines.push('', '## Skipped, failed, notes', '', ...notOk.map((n) => `- ${n.replace(/\s+/g, ' ')}`));
  lines.push('');
  return lines.join('\n');
}

export function peerJoinMain(argv: string[]): void {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      ours: { type: 'string', default: '/tmp/kvb-gpu/gpu-peer-ours.json' },
      peer: { type: 'string', default: '/tmp/kvb-gpu/gpu-peer-torch.json' },
      out: { type: 'string', default: '/tmp/kvb-gpu/gpu-peer.md' },
    },
  });
  const md = joinMarkdown(readJson<OursRow>(args.ours), readJson<PeerRow>(args.peer));
  writeFileSync(args.out!, md);
  console.log(md);
  console.log(`wrote ${args.out}`);
}

if (/peer-join\.ts$/.test(process.argv[1] ?? '')) peerJoinMain(process.argv.slice(2));
