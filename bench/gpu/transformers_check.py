"""Compares kvbench's ONNX logits (written by transformers-check.ts) with transformers' PyTorch
implementation of the same random weights. Usage: python3 transformers_check.py DIR OUT.md"""
import json, sys, pathlib
import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM

root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
rows = []
for d in sorted(p for p in root.iterdir() if p.is_dir()):
    meta = json.loads((d / "tokens.json").read_text())
    tokens, prefill = meta["tokens"], meta["prefill"]
    model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float64, attn_implementation="eager").eval()
    with torch.no_grad():
        ref = model(torch.tensor([tokens])).logits[0, prefill - 1 :].numpy()
    for f in sorted(d.glob("logits-*.f32")):
        ours = np.fromfile(f, dtype=np.float32).reshape(ref.shape).astype(np.float64)
        rel = np.linalg.norm(ours - ref, axis=1) / np.linalg.norm(ref, axis=1)
        agree = float(np.mean(ours.argmax(1) == ref.argmax(1)))
        rows.append((d.name, f.stem.split("-", 1)[1], ref.shape[0], float(rel.max()), float(rel.mean()), agree))
        print(rows[-1], flush=True)

lines = [
    "# ONNX engine vs transformers (PyTorch, float64) on random-weight configs",
    "",
    f"transformers {transformers.__version__}, torch {torch.__version__}, GPU machine (device tool).",
    "Relative error per position = ||ours - torch|| / ||torch|| over the vocabulary; positions = last prefill",
    "token + each decode step (full-precision cache). Target: max relative error < 1e-3.",
    "",
    "| model (2 layers, real widths) | provider | positions | max rel. error | mean rel. error | argmax agreement | verdict |",
    "|---|---|---|---|---|---|---|",
]
for name, ep, n, mx, mean, agree in rows:
    lines.append(f"| {name} | {ep} | {n} | {mx:.2e} | {mean:.2e} | {agree:.3f} | {'pass' if mx < 1e-3 else 'FAIL'} |")
out.write_text("\n".join(lines) + "\n")
print("\n".join(lines))
