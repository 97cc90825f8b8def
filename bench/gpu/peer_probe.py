"""Where the peer's decode step spends its time: transformers' DynamicCache vs a Cache built from
DynamicLayers vs the packed K4V4 cache of decode_peer.py, on one generated model at one context.
Prints the median step and the top operators of a profiled step (torch.profiler), to tell a slow fp16
path in transformers from a measurement artefact. The variants run one after another over the same key
lengths: what the first pays once per length (cuDNN attention plans, gpu-peer-probe.txt) the later ones
find cached, so compare them with that in mind (decode_peer.py turns cuDNN attention off).

  python3 bench/gpu/peer_probe.py MODEL_DIR [--context 8192] [--steps 16]
"""
import argparse
import statistics
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import decode_peer as dp  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("--context", type=int, default=8192)
    p.add_argument("--steps", type=int, default=16)
    a = p.parse_args()
    from transformers import AutoModelForCausalLM
    import transformers.cache_utils as cu

    model = AutoModelForCausalLM.from_pretrained(a.model_dir, dtype=torch.float16).cuda().eval()
    n_layers = model.config.num_hidden_layers
    vocab = model.config.vocab_size
    variants = {
        "DynamicCache (default)": lambda: None,
        "DynamicCache()": lambda: cu.DynamicCache(),
        "Cache(layers=DynamicLayer)": lambda: cu.Cache(layers=[cu.DynamicLayer() for _ in range(n_layers)]),
        "packed K4V4": lambda: dp.packed_cache(n_layers, 4, 4, 64, 128),
    }
    tokens = dp.lcg_tokens(a.context, 7, vocab)
    with torch.inference_mode():
        for name, make in variants.items():
            cache = make()
            for i in range(0, len(tokens), 512):
                _, cache = dp.forward(model, torch.tensor([tokens[i : i + 512]], device="cuda"), cache)
            torch.cuda.synchronize()
            times = []
            for s in range(2 + a.steps):
                ids = torch.tensor([[(s * 31) % vocab]], device="cuda")
                torch.cuda.synchronize()
                t = time.perf_counter()
                logits, cache = dp.forward(model, ids, cache)
                logits[0, -1].float().cpu()
                torch.cuda.synchronize()
                if s >= 2:
                    times.append((time.perf_counter() - t) * 1000)
            print(f"{name}: {type(cache).__name__}, seq {cache.get_seq_length()}, step median {statistics.median(times):.2f} ms (min {min(times):.2f})", flush=True)
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]) as prof:
                for s in range(3):
                    logits, cache = dp.forward(model, torch.tensor([[s]], device="cuda"), cache)
                    logits[0, -1].float().cpu()
                torch.cuda.synchronize()
            print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=12), flush=True)
            del cache
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
