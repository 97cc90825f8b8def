#!/usr/bin/env bash
# One device call: GPU/CPU consistency, our decode speed + GPU memory (WebGPU), the transformers + PyTorch
# peer on the same models, and the joined table. Run on the GPU machine from the repository root, after
# `../shared/device/pack.sh bench/gpu/device-entry.ts` here and with carry [".device"]:
#   bash bench/gpu/device-run.sh
# Results go to $OUT (at most 6 files): gpu-consistency.md/.json, gpu-peer-ours.json, gpu-peer-torch.json,
# gpu-peer.md, device-run.log. Every part writes its results as it goes, so a part stopped by its time
# limit still leaves what it measured.
#
# Time: the whole run aims at KVB_TOTAL seconds (default 540); each part gets a time limit (timeout) and
# an internal budget a little under it, and later parts keep a reserve. Override with the environment:
#   KVB_MODELS (Llama-3.2-1B:4,Qwen3-8B:2)  KVB_CONTEXTS (1024,8192,32768)  KVB_STEPS (32)  KVB_VOCAB (8192)
#   KVB_CACHES (fp16,K4V4,K4V2,K2V2; NAME-reserve adds ours with reserved rows)  KVB_DTYPE (float16)  KVB_EP (webgpu)  KVB_SKIP (e.g. "consistency peer")
#   KVB_PEER_ARGS (extra decode_peer.py flags, e.g. --no-sanity)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${OUT:-/tmp/kvb-out}
WORK=${KVB_WORK:-/tmp/kvb-gpu}
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/device-run.log") 2>&1

TOTAL=${KVB_TOTAL:-540}
MODELS=${KVB_MODELS:-Llama-3.2-1B:4,Qwen3-8B:2}
CONTEXTS=${KVB_CONTEXTS:-1024,8192,32768}
STEPS=${KVB_STEPS:-32}
VOCAB=${KVB_VOCAB:-8192}
CACHES=${KVB_CACHES:-fp16,K4V4,K4V2,K2V2}
# NAME-reserve caches are ours only: the peer runs NAME (each name once) and the join compares with it.
PEER_CACHES=$(echo "$CACHES" | tr ',' '\n' | sed 's/-reserve$//' | awk '!seen[$0]++' | paste -sd, -)
DTYPE=${KVB_DTYPE:-float16}
EP=${KVB_EP:-webgpu}
SKIP=${KVB_SKIP:-}
NODE=${KVB_NODE:-/tmp/n/node}     # local dry runs: KVB_NODE=node KVB_NO_SETUP=1 KVB_EP=cpu
ENTRY=.device/device-entry.mjs
export KVBENCH_ENGINE_ASSETS=$PWD/packages/engine/assets
export PYTHONUNBUFFERED=1

start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
left() { echo $(( TOTAL - $(elapsed) )); }
stamp() { echo "=== [$(elapsed) s elapsed, $(left) s left] $*"; }
# limit WANTED RESERVE: seconds for this part = min(WANTED, left - RESERVE), at least 20
limit() { local l=$(( $(left) - $2 )); (( l > $1 )) && l=$1; (( l < 20 )) && l=20; echo "$l"; }
skipped() { [[ " $SKIP " == *" $1 "* ]]; }

stamp "setup"
if [ -z "${KVB_NO_SETUP:-}" ]; then timeout 150 bash .device/setup.sh || { echo "setup failed"; exit 1; }; fi
[ -f "$ENTRY" ] || { echo "missing $ENTRY: run ../shared/device/pack.sh bench/gpu/device-entry.ts before the call"; exit 1; }
[ -d "$KVBENCH_ENGINE_ASSETS/stories260k" ] || { echo "missing $KVBENCH_ENGINE_ASSETS"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv,noheader || true
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())' || true

if ! skipped consistency; then
  # The reserve is for the decode parts; none when they are skipped.
  reserve=400; skipped ours && skipped peer && reserve=0
  t=$(limit 140 $reserve); b=$(( t - 25 ))
  stamp "consistency (limit ${t} s, budget ${b} s)"
  timeout -k 10 "$t" "$NODE" "$ENTRY" consistency --ep "$EP" --out-dir "$OUT" --models-dir "$WORK/models" --budget "$b"
  echo "consistency exit $?"
fi

if ! skipped ours; then
  t=$(limit 360 100); b=$(( t - 50 ))
  stamp "decode, ours (limit ${t} s, budget ${b} s)"
  timeout -k 10 "$t" "$NODE" "$ENTRY" decode --ep "$EP" --dtype "$DTYPE" --models "$MODELS" --vocab "$VOCAB" \
    --contexts "$CONTEXTS" --steps "$STEPS" --caches "$CACHES" --budget "$b" \
    --models-dir "$WORK/models" --out "$OUT/gpu-peer-ours.json" --rows "$WORK/gpu-peer-ours.rows.jsonl"
  echo "decode (ours) exit $?"
fi

if ! skipped peer; then
  t=$(limit 110 15); b=$(( t - 20 ))
  stamp "decode, peer: transformers + torch (limit ${t} s, budget ${b} s)"
  timeout -k 10 "$t" python3 bench/gpu/decode_peer.py --models-dir "$WORK/models" --models "$MODELS" --vocab "$VOCAB" \
    --contexts "$CONTEXTS" --steps "$STEPS" --caches "$PEER_CACHES" --budget "$b" --out "$OUT/gpu-peer-torch.json" ${KVB_PEER_ARGS:-}
  echo "decode (peer) exit $?"
fi

stamp "join"
timeout 30 "$NODE" "$ENTRY" join --ours "$OUT/gpu-peer-ours.json" --peer "$OUT/gpu-peer-torch.json" --out "$OUT/gpu-peer.md" >/dev/null
echo "join exit $?"
echo
cat "$OUT/gpu-peer.md" 2>/dev/null
echo
sed -n '/^## Logits/,$p' "$OUT/gpu-consistency.md" 2>/dev/null
stamp "done"
ls -la "$OUT"
