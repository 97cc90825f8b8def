"""The peer of bench/gpu/decode-peer.ts: decode tokens/s and GPU memory of transformers + PyTorch (CUDA,
float16) on the same random-weight HF directories, full-precision DynamicCache vs a packed quantized cache
that quantizes like kvbench's quanto per-token quantizer:

  per token and head, groups of 64 along head_dim, asymmetric min-max (computed in fp32, metadata in fp16):
  scale = (max - min) / (2^b - 1), shift = -min, code = clamp(round_half_even((x + shift) / scale), 0, 2^b - 1),
  codes bit-packed into uint8 (really: 2 or 4 codes per byte), x^ = scale * code - shift;
  prefill: every token quantized; a residual of up to 128 fp16 tokens, moved into the packed history when it
  reaches 128 (appended, never re-quantized); each step dequantizes the whole history, as transformers'
  QuantizedCache does, and attends over dequant(history) ++ residual ++ new.

The cache is a transformers Cache whose layers subclass transformers' own QuantizedLayer (or DynamicLayer
where that is missing), so the model's forward uses it through the ordinary past_key_values path.

Usage (GPU machine, from the repository root, after decode-peer.ts generated the model directories):
  python3 bench/gpu/decode_peer.py --models-dir /tmp/kvb-gpu/models --models Llama-3.2-1B:4,Qwen3-8B:2 \
      --vocab 8192 --contexts 1024,8192,32768 --steps 32 --budget 90 --out /tmp/kvb-gpu/gpu-peer-torch.json
"""
import argparse
import datetime
import gc
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import traceback

import torch
import transformers
from transformers import AutoModelForCausalLM

WARMUP = 32  # untimed decode steps before the timed ones, as ours (decode-peer.ts)
CACHE_NAMES = ["fp16", "K4V4", "K4V2", "K2V2"]


def parse_models(spec):
    out = []
    for item in filter(None, spec.split(",")):
        preset, _, layers = item.partition(":")
        out.append((preset, int(layers or 2)))
    return out


def model_dir_name(preset, layers, vocab):
    return f"{preset}-L{layers}-V{vocab}"


def cache_bits(name):
    if name in ("fp16", "fp"):
        return None
    if len(name) == 4 and name[0] == "K" and name[2] == "V":
        return int(name[1]), int(name[3])
    raise ValueError(f"cache: got {name!r}, allowed: {', '.join(CACHE_NAMES)}")


def lcg_tokens(n, seed, vocab):
    """The same ids as lcgTokens() in decode-peer.ts."""
    s = seed & 0xFFFFFFFF
    out = []
    for _ in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out.append(s % vocab)
    return out


def accounted_bytes_per_token(layers, kv_heads, head_dim, bits, group=64, meta_bits=16):
    """@kvbench/quant kvBytesPerToken: L*H*D*[(bK + 2m/G) + (bV + 2m/G)]/8; None bits = the fp16 cache."""
    if bits is None:
        return 2 * layers * kv_heads * head_dim * 2
    kb, vb = bits
    return layers * kv_heads * head_dim * ((kb + 2 * meta_bits / group) + (vb + 2 * meta_bits / group)) / 8


# ---------------------------------------------------------------------------------------------------------
# Quantizer (quanto per-token min-max, real bit packing)

_SHIFTS = {}


def quantize_packed(x, bits, group):
    """x [B, H, T, D] -> (codes uint8 [B, H, T, D*bits/8], scale fp16 [B, H, T, D/G], shift fp16 [B, H, T, D/G])."""
    B, H, T, D = x.shape
    q_max = (1 << bits) - 1
    xg = x.float().reshape(B, H, T, D // group, group)
    mn = xg.amin(-1, keepdim=True)
    mx = xg.amax(-1, keepdim=True)
    scale = ((mx - mn) / q_max).half()
    shift = (-mn).half()
    s32 = scale.float()
    safe = torch.where(s32 > 0, s32, torch.ones_like(s32))
    codes = torch.round((xg + shift.float()) / safe)
    codes = torch.where(s32 > 0, codes, torch.zeros_like(codes)).clamp_(0, q_max).to(torch.uint8)
    per = 8 // bits
    codes = codes.reshape(B, H, T, D // per, per)
    packed = codes[..., 0].clone()
    for j in range(1, per):
        packed |= codes[..., j] << (bits * j)
    return packed, scale.squeeze(-1), shift.squeeze(-1)


def dequantize_packed(packed, scale, shift, bits, group, dtype):
    B, H, T, Dp = packed.shape
    per = 8 // bits
    key = (bits, packed.device)
    if key not in _SHIFTS:
        _SHIFTS[key] = torch.arange(0, 8, bits, dtype=torch.uint8, device=packed.device)
    codes = (packed.unsqueeze(-1) >> _SHIFTS[key]) & ((1 << bits) - 1)
    D = Dp * per
    codes = codes.reshape(B, H, T, D // group, group).to(dtype)
    x = codes * scale.unsqueeze(-1).to(dtype) - shift.unsqueeze(-1).to(dtype)
    return x.reshape(B, H, T, D)


# ---------------------------------------------------------------------------------------------------------
# The cache: transformers' QuantizedLayer conventions (keys/values = the fp residual, cumulative_length =
# tokens seen, get_seq_length() = cumulative_length), so the inherited mask-size logic stays right.


class PackedLayerMixin:
    def __init__(self, k_bits, v_bits, group=64, residual=128):
        last = None
        for kwargs in (
            dict(nbits=max(k_bits, v_bits), axis_key=-1, axis_value=-1, q_group_size=group, residual_length=residual),
            {},
        ):
            try:
                super().__init__(**kwargs)
                last = None
                break
            except TypeError as error:
                last = error
        if last is not None:
            raise last
        self.k_bits, self.v_bits, self.group, self.residual_length = k_bits, v_bits, group, residual
        self.cumulative_length = 0
        self.history = None  # ((k codes, k scale, k shift), (v codes, v scale, v shift))
        self.history_tokens = 0
        self.updates = 0
        self.keys = None
        self.values = None
        self.is_initialized = False

    # QuantizedLayer declares these abstract; this layer keeps its own packed format instead.
    def _quantize(self, tensor, axis):
        raise NotImplementedError

    def _dequantize(self, q_tensor):
        raise NotImplementedError

    def _append_history(self, k, v):
        kq = quantize_packed(k, self.k_bits, self.group)
        vq = quantize_packed(v, self.v_bits, self.group)
        if self.history is None:
            self.history = (kq, vq)
        else:
            self.history = tuple(
                tuple(torch.cat([old, new], dim=2) for old, new in zip(olds, news)) for olds, news in zip(self.history, (kq, vq))
            )
        self.history_tokens += k.shape[-2]

    def update(self, key_states, value_states, *args, **kwargs):
        self.updates += 1
        self.cumulative_length += key_states.shape[-2]
        B, H, _, D = key_states.shape
        if not self.is_initialized:
            self.dtype, self.device = key_states.dtype, key_states.device
            self.keys = key_states.new_empty((B, H, 0, D))
            self.values = value_states.new_empty((B, H, 0, value_states.shape[-1]))
            self.is_initialized = True
            self._append_history(key_states, value_states)  # prefill: quantize everything
            return key_states, value_states
        res_k = torch.cat([self.keys, key_states], dim=-2)
        res_v = torch.cat([self.values, value_states], dim=-2)
        if self.history is not None:
            (kc, ks, kz), (vc, vs, vz) = self.history
            full_k = torch.cat([dequantize_packed(kc, ks, kz, self.k_bits, self.group, res_k.dtype), res_k], dim=-2)
            full_v = torch.cat([dequantize_packed(vc, vs, vz, self.v_bits, self.group, res_v.dtype), res_v], dim=-2)
        else:
            full_k, full_v = res_k, res_v
        if res_k.shape[-2] >= self.residual_length:
            self._append_history(res_k, res_v)
            self.keys = res_k.new_empty((B, H, 0, D))
            self.values = res_v.new_empty((B, H, 0, res_v.shape[-1]))
        else:
            self.keys, self.values = res_k, res_v
        return full_k, full_v

    def get_seq_length(self, *args, **kwargs):
        return self.cumulative_length

    def history_bytes(self):
        if self.history is None:
            return 0
        return sum(t.numel() * t.element_size() for part in self.history for t in part)

    def residual_bytes(self):
        return sum(t.numel() * t.element_size() for t in (self.keys, self.values) if t is not None)


_LAYER_CLASS = None


def packed_layer_class():
    """PackedLayerMixin on transformers' QuantizedLayer, else DynamicLayer (whichever instantiates)."""
    global _LAYER_CLASS
    if _LAYER_CLASS is not None:
        return _LAYER_CLASS
    import transformers.cache_utils as cu

    errors = []
    for base_name in ("QuantizedLayer", "DynamicLayer"):
        base = getattr(cu, base_name, None)
        if base is None:
            errors.append(f"{base_name}: missing")
            continue
        try:
            cls = type("PackedLayer", (PackedLayerMixin, base), {})
            cls(4, 2)
            _LAYER_CLASS = (cls, base_name)
            return _LAYER_CLASS
        except Exception as error:  # noqa: BLE001 - try the next base
            errors.append(f"{base_name}: {error!r}")
    raise RuntimeError("no usable cache layer base: " + "; ".join(errors))


def packed_cache(n_layers, k_bits, v_bits, group=64, residual=128):
    import transformers.cache_utils as cu

    cls, _ = packed_layer_class()
    layers = [cls(k_bits, v_bits, group, residual) for _ in range(n_layers)]
    try:
        return cu.Cache(layers=layers)
    except Exception:  # noqa: BLE001 - a Cache that cannot be built from layers: a DynamicCache with ours swapped in
        cache = cu.DynamicCache()
        cache.layers = layers
        if hasattr(cache, "layer_class_to_replicate"):
            cache.layer_class_to_replicate = None
        return cache


def cache_layers(cache):
    return list(getattr(cache, "layers", []) or [])


def cache_bytes(cache):
    """(total bytes, history bytes, history tokens) held by a cache (a DynamicCache: all fp16, no history)."""
    total = hist = hist_tokens = 0
    for layer in cache_layers(cache):
        if isinstance(layer, PackedLayerMixin):
            h = layer.history_bytes()
            total += h + layer.residual_bytes()
            hist += h
            hist_tokens = layer.history_tokens
        else:
            for t in (getattr(layer, "keys", None), getattr(layer, "values", None)):
                if torch.is_tensor(t):
                    total += t.numel() * t.element_size()
    if total == 0 and hasattr(cache, "key_cache"):  # older transformers
        total = sum(t.numel() * t.element_size() for t in list(cache.key_cache) + list(cache.value_cache))
    return total, hist, hist_tokens


# ---------------------------------------------------------------------------------------------------------
# nvidia-smi sampler (same as gpu-memory.ts: nvidia-smi's timestamps, corrected by the first sample's skew)


class SmiSampler:
    def __init__(self, gpu=os.environ.get("KVB_GPU_INDEX", "0"), interval_ms=50):
        self.samples = []  # (nvidia-smi timestamp, MiB)
        self.min_delay = float("inf")  # smallest (read - timestamp): the clock offset when it is seconds
        self.proc = None
        try:
            self.proc = subprocess.Popen(
                ["nvidia-smi", "-i", gpu, "--query-gpu=timestamp,memory.used", "--format=csv,noheader,nounits", "-lms", str(interval_ms)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
        except OSError:
            return
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            now = time.time()
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 2 or not parts[-1].isdigit():
                continue
            try:
                t = datetime.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
                self.min_delay = min(self.min_delay, now - t)
            except ValueError:
                t = now
            self.samples.append((t, int(parts[-1])))

    def _shift(self):
        return self.min_delay if self.min_delay != float("inf") and abs(self.min_delay) > 2 else 0.0

    def latest(self):
        return self.samples[-1][1] if self.samples else None

    def peak(self, t0, t1):
        shift = self._shift()
        vals = [m for t, m in list(self.samples) if t0 <= t + shift <= t1]
        return max(vals) if vals else None

    def stop(self):
        if self.proc:
            self.proc.terminate()


# ---------------------------------------------------------------------------------------------------------


class Cuda:
    """torch.cuda's synchronize / memory statistics, or no-ops (zeros) on a CPU dry run (--device cpu)."""

    def __init__(self, device):
        self.on = device.startswith("cuda")

    def __getattr__(self, name):
        if self.on:
            return getattr(torch.cuda, name)
        return lambda *a, **k: 0


def forward(model, ids, cache):
    out = model(input_ids=ids, past_key_values=cache, use_cache=True)
    return out.logits, out.past_key_values


def sanity(model, vocab, n_layers, kv_heads, head_dim, device):
    """Our cache inside the model forward: logits vs DynamicCache for 8-bit and the benchmark caches,
    sequence length bookkeeping, and bytes per token vs the accounting formula."""
    tokens = lcg_tokens(200 + 8, 3, vocab)
    chunks = [tokens[i : min(i + 64, 200)] for i in range(0, 200, 64)] + [[t] for t in tokens[200:]]

    def run(cache):
        rows = []
        for c in chunks:
            logits, cache = forward(model, torch.tensor([c], device=device), cache)
            rows.append(logits[0, -1].float())
        return torch.stack(rows), cache

    ref, _ = run(None)
    results = []
    for name, bits in (("K8V8", (8, 8)), ("K4V4", (4, 4)), ("K4V2", (4, 2)), ("K2V2", (2, 2))):
        try:
            got, cache = run(packed_cache(n_layers, *bits))
            rel = ((got - ref).norm(dim=1) / ref.norm(dim=1)).max().item()
            agree = (got.argmax(1) == ref.argmax(1)).float().mean().item()
            layer = cache_layers(cache)[0]
            _, hist, hist_tokens = cache_bytes(cache)
            results.append(dict(
                cache=name, maxRelErrVsFp16Cache=rel, argmaxAgreement=agree,
                seqLength=int(cache.get_seq_length()), expectedSeqLength=len(tokens), updatesLayer0=layer.updates,
                historyTokens=hist_tokens, residualTokens=int(layer.keys.shape[-2]),
                historyBytesPerToken=hist / hist_tokens if hist_tokens else None,
                accountedBytesPerToken=accounted_bytes_per_token(n_layers, kv_heads, head_dim, bits),
            ))
        except Exception as error:  # noqa: BLE001
            results.append(dict(cache=name, error=repr(error), trace=traceback.format_exc()[-1500:]))
        print("sanity", json.dumps(results[-1]), flush=True)
    return results


def fill_flops(layers, hidden, inter, heads, kv_heads, head_dim, a, b):
    """fillFlops() of decode-peer.ts: linear layers 2 * params per token + attention 2 * qDim * (b^2 - a^2)."""
    q, kv = heads * head_dim, kv_heads * head_dim
    params = hidden * (2 * q + 2 * kv) + 3 * hidden * inter
    return layers * (2 * params * (b - a) + 2 * q * (b * b - a * a))


def predict_fill(fills, a, b, flops):
    """Seconds to extend a context from a to b: the latest fill's seconds per FLOP times the work, plus 25%."""
    if not fills:
        return float("nan")
    f0, f1, secs = fills[-1]
    return 1.25 * secs / flops(f0, f1) * flops(a, b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models-dir", default="/tmp/kvb-gpu/models")
    ap.add_argument("--models", default="Llama-3.2-1B:4,Qwen3-8B:2")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--contexts", default="1024,8192,32768")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--caches", default=",".join(CACHE_NAMES))
    ap.add_argument("--residual", type=int, default=128)
    ap.add_argument("--chunk", type=int, default=512)
    ap.add_argument("--budget", type=float, default=90)
    ap.add_argument("--no-sanity", action="store_true")
    ap.add_argument("--cudnn-sdp", action="store_true",
                    help="leave PyTorch's cuDNN attention on (off by default: it plans per sequence length, "
                         "so every decode step of a growing fp16 cache paid a plan, 37-70 ms)")
    ap.add_argument("--device", default="cuda", help="cuda; cpu only for a dry run of this script")
    ap.add_argument("--out", default="/tmp/kvb-gpu/gpu-peer-torch.json")
    args = ap.parse_args()
    if not args.cudnn_sdp and hasattr(torch.backends.cuda, "enable_cudnn_sdp"):
        # SDPA then picks flash / memory-efficient attention, which need no per-shape plan.
        torch.backends.cuda.enable_cudnn_sdp(False)

    started = time.time()
    deadline = started + args.budget
    device = args.device
    cuda = Cuda(device)
    contexts = sorted(int(c) for c in args.contexts.split(","))
    caches = [c for c in args.caches.split(",") if c]
    for c in caches:
        cache_bits(c)
    out_path = pathlib.Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    report = dict(
        recorded=datetime.datetime.now(datetime.timezone.utc).isoformat(),
        command=" ".join(sys.argv),
        versions=dict(torch=torch.__version__, transformers=transformers.__version__, cuda=torch.version.cuda,
                      gpu=torch.cuda.get_device_name(0) if cuda.on and torch.cuda.is_available() else device),
        setup=dict(models=args.models, vocab=args.vocab, contexts=contexts, steps=args.steps, warmup=WARMUP,
                   caches=caches, residual=args.residual, chunk=args.chunk, budgetSeconds=args.budget, dtype="float16",
                   cudnnSdp=bool(args.cudnn_sdp)),
        sanity={},
        rows=[],
    )

    def save():
        out_path.write_text(json.dumps(report, indent=2))

    sampler = SmiSampler()
    try:
        layer_cls, layer_base = packed_layer_class()
        report["cacheLayerBase"] = layer_base
    except Exception as error:  # noqa: BLE001
        report["cacheLayerBase"] = f"unavailable: {error!r}"
    print(f"transformers {transformers.__version__}, torch {torch.__version__}; packed cache layer base: {report['cacheLayerBase']}", flush=True)
    save()

    for preset, layers in parse_models(args.models):
        name = model_dir_name(preset, layers, args.vocab)
        d = pathlib.Path(args.models_dir) / name
        base = dict(model=name, preset=preset, layers=layers, vocab=args.vocab)
        if not (d / "config.json").exists():
            for c in caches:
                report["rows"].append(dict(base, cache=c, context=0, status="error", note=f"no model directory {d}"))
            save()
            continue
        t0 = time.time()
        try:
            try:
                model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float16)
            except TypeError:
                model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float16)
            model = model.half().to(device).eval()
        except Exception as error:  # noqa: BLE001
            print(f"{name}: cannot load: {error!r}\n{traceback.format_exc()}", flush=True)
            for c in caches:
                report["rows"].append(dict(base, cache=c, context=0, status="error", note=f"model load failed: {error!r}"[:500]))
            save()
            continue
        cfg = model.config
        kv_heads = cfg.num_key_value_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        heads = cfg.num_attention_heads
        cuda.synchronize()
        print(f"{name}: loaded in {time.time() - t0:.1f} s, attention {getattr(cfg, '_attn_implementation', '?')}", flush=True)
        report.setdefault("attention", {})[name] = getattr(cfg, "_attn_implementation", None)

        with torch.inference_mode():
            if not args.no_sanity:
                try:
                    report["sanity"][name] = sanity(model, args.vocab, layers, kv_heads, head_dim, device)
                except Exception as error:  # noqa: BLE001
                    report["sanity"][name] = [dict(cache="reference (DynamicCache)", error=repr(error), trace=traceback.format_exc()[-1500:])]
                    print(f"{name}: sanity failed: {error!r}", flush=True)
                save()
            for cache_name in caches:
                bits = cache_bits(cache_name)
                gc.collect()
                cuda.empty_cache()
                cuda.synchronize()
                time.sleep(0.3)
                base_alloc = cuda.memory_allocated()
                base_reserved = cuda.memory_reserved()
                smi_base = sampler.latest()
                cache = None
                fills = []
                step_guess = 0.02
                have = 0
                try:
                    # fp16: transformers' DynamicCache. Its steps were 37-70 ms while cuDNN attention was on:
                    # cuDNN builds a plan per key length (gpu-peer-probe.txt: 136 ms of 149 in
                    # _cudnn_attention_forward; a second pass over the same lengths ran 3.6 ms from the plan cache).
                    cache = packed_cache(layers, bits[0], bits[1], 64, args.residual) if bits is not None else transformers.cache_utils.DynamicCache()
                    for ci, context in enumerate(contexts):
                        left = deadline - time.time()
                        flops = lambda a, b: fill_flops(layers, cfg.hidden_size, cfg.intermediate_size, heads, kv_heads, head_dim, a, b)
                        predicted = predict_fill(fills, have, context, flops) + (WARMUP + args.steps) * step_guess
                        if left < 3 or (predicted == predicted and predicted > left):
                            note = f"skipped: predicted {predicted:.0f} s, {left:.0f} s left of --budget"
                            for c in contexts[ci:]:
                                report["rows"].append(dict(base, cache=cache_name, context=c, status="skipped", note=note))
                            print(f"{name} {cache_name} context {context}: {note}", flush=True)
                            break
                        cuda.reset_peak_memory_stats()
                        fill_t0 = time.time()
                        tokens = lcg_tokens(context - have, 7 + have, args.vocab)
                        for i in range(0, len(tokens), args.chunk):
                            logits, cache = forward(model, torch.tensor([tokens[i : i + args.chunk]], device=device), cache)
                            del logits
                        cuda.synchronize()
                        fill_s = time.time() - fill_t0
                        fills.append((have, context, fill_s))
                        peak_fill = cuda.max_memory_allocated()
                        peak_fill_reserved = cuda.max_memory_reserved()
                        cuda.reset_peak_memory_stats()
                        dec_t0 = time.time()
                        times = []
                        for s in range(WARMUP + args.steps):
                            ids = torch.tensor([[(s * 31 + context) % args.vocab]], device=device)
                            cuda.synchronize()
                            t = time.perf_counter()
                            logits, cache = forward(model, ids, cache)
                            host_logits = logits[0, -1].float().cpu()  # ours returns the logits to the host too
                            cuda.synchronize()
                            if s >= WARMUP:
                                times.append((time.perf_counter() - t) * 1000)
                            del logits, host_logits
                        dec_t1 = time.time()
                        time.sleep(0.2)
                        peak_dec = cuda.max_memory_allocated()
                        peak_dec_reserved = cuda.max_memory_reserved()
                        have = int(cache.get_seq_length())
                        total, hist, hist_tokens = cache_bytes(cache)
                        step_ms = statistics.median(times)
                        step_guess = step_ms / 1000 * 4
                        layer0 = cache_layers(cache)[0] if cache_layers(cache) else None
                        residual_tokens = int(layer0.keys.shape[-2]) if isinstance(layer0, PackedLayerMixin) else have
                        smi_peak = sampler.peak(fill_t0, dec_t1 + 0.1)
                        smi_dec = sampler.peak(dec_t0, dec_t1 + 0.1)
                        mib = lambda b: b / 2**20
                        row = dict(
                            base, cache=cache_name, context=context, status="ok", provider="cuda", dtype="float16",
                            stepMsMedian=step_ms, stepMsMin=min(times), stepMsMax=max(times), tokensPerSecond=1000 / step_ms,
                            steps=len(times), fillSeconds=fill_s, fillChunk=args.chunk, tokens=have,
                            cacheBytes=total, historyBytes=hist, historyTokens=hist_tokens, residualTokens=residual_tokens,
                            cacheBytesPerTokenMeasured=(hist / hist_tokens if hist_tokens else None) if bits else total / have,
                            cacheBytesPerTokenAccounted=accounted_bytes_per_token(layers, kv_heads, head_dim, bits),
                            allocPeakDeltaMiB=mib(max(peak_fill, peak_dec) - base_alloc),
                            allocDecodePeakDeltaMiB=mib(peak_dec - base_alloc),
                            reservedPeakDeltaMiB=mib(max(peak_fill_reserved, peak_dec_reserved) - base_reserved),
                            gpuBaselineMiB=smi_base,
                            gpuPeakDeltaMiB=None if smi_peak is None or smi_base is None else smi_peak - smi_base,
                            gpuDecodePeakDeltaMiB=None if smi_dec is None or smi_base is None else smi_dec - smi_base,
                            heads=heads, kvHeads=kv_heads, headDim=head_dim,
                        )
                        report["rows"].append(row)
                        save()
                        print(f"{name} {cache_name} context {context}: filled in {fill_s:.1f} s, step {step_ms:.2f} ms "
                              f"({1000 / step_ms:.1f} tok/s), cache {mib(total):.1f} MiB, alloc peak +{row['allocPeakDeltaMiB']:.0f} MiB", flush=True)
                except Exception as error:  # noqa: BLE001
                    report["rows"].append(dict(base, cache=cache_name, context=0, status="error", note=repr(error)[:500],
                                               trace=traceback.format_exc()[-2000:]))
                    print(f"{name} {cache_name}: ERROR {error!r}\n{traceback.format_exc()}", flush=True)
                finally:
                    cache = None
                    save()
        del model
        gc.collect()
        cuda.empty_cache()

    sampler.stop()
    report["seconds"] = time.time() - started
    save()
    print(f"wrote {out_path} ({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
