#!/usr/bin/env bash
# Everything the README's GPU table holds, in one call on a lent GPU machine: each stage under its own time
# limit (by default 60 + 210 + 80 + 150 s, within a 10-minute call with the unpacking), its log written to the
# output folder as it goes and its JSON when it ends, so a slow stage leaves the others' results.
#
#   ./run-all.sh OUT_DIR [FIXTURES_DIR]    e.g. bench-kit/run-all.sh "$OUT" "$PWD/fixtures/timesformer"
#
# 0. correctness first: with FIXTURES_DIR, our engine on this GPU (with its own autotuner picks) against every
#    fixture there (<name>/model/ and <name>/expected.safetensors, Hugging Face's outputs);
# 1. base and HR: our engine (per-kernel GPU profile included) beside onnxruntime-web WebGPU and tfjs WebGPU
#    (the wasm EP and tfjs CPU take minutes per base view: they run on tiny and small only);
# 2. the PyTorch anchor (transformers, eager fp32 and fp16) on the same shapes, where python3 has torch;
# 3. kernels at base shapes (GEMM, attention, LayerNorm per variant) and tiny/small with every backend.
set -uo pipefail
# Absolute: run.sh runs node from inside the kit.
out=$(mkdir -p "${1:?usage: run-all.sh OUT_DIR [FIXTURES_DIR]}" && cd "$1" && pwd)
fixtures=${2:+$(cd "$2" && pwd)}
kit=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stage() { # stage NAME SECONDS COMMAND...
  local name=$1 seconds=$2
  shift 2
  echo "== $name (at most $seconds s)"
  timeout "$seconds" "$@" 2>&1 | tee "$out/$name.log"
  echo "== $name: exit ${PIPESTATUS[0]}"
}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.total --format=csv | tee "$out/gpu.txt"
"$kit/run.sh" --unpack # outside any stage's limit
if [[ -n $fixtures ]]; then
  verify_all() {
    local rc=0
    for dir in "$fixtures"/*/; do
      [[ -f $dir/expected.safetensors && -d $dir/model ]] || continue
      echo "-- $(basename "$dir")"
      "$kit/run.sh" verify "$dir/model" "$dir/expected.safetensors" --backend wgsl || rc=1
    done
    return $rc
  }
  export kit fixtures
  export -f verify_all
  stage verify "${KIT_VERIFY_SECONDS:-60}" bash -c verify_all
fi
stage base-hr "${KIT_BASE_SECONDS:-210}" "$kit/run.sh" --models base,hr --models-only --backends onnx-webgpu,tfjs-webgpu --iterations 10 --out "$out/base-hr.json"
if python3 -c 'import torch, transformers; assert torch.cuda.is_available()' 2>/dev/null; then
  stage torch "${KIT_TORCH_SECONDS:-80}" python3 "$kit/torch-anchor.py" --models base,hr --iterations 20 --out "$out/torch.json"
fi
stage kernels-tiny-small "${KIT_SMALL_SECONDS:-150}" "$kit/run.sh" --models tiny,small --iterations 10 --out "$out/kernels-tiny-small.json"

echo "== summary"
grep -h -e '^-- ' -e '^verify: ' "$out/verify.log" 2>/dev/null
grep -h -A20 'side by side' "$out"/*.log 2>/dev/null
grep -h 'pytorch eager' "$out/torch.log" 2>/dev/null
