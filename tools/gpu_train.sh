#!/usr/bin/env bash
# One prepared GPU run (issue #13): rebuild clips from gpu_pack/ with 16 jobs, train `base` and,
# beside it on the same GPU, `small` (bf16, time-limited), fit their safety gates on the
# validation ladder, and write the checkpoints and bench_quality's table into OUTDIR, inside
# about 9 minutes. The pack comes from tools/gpu_pack.py (run it here first; it stays untracked,
# so it travels with the working tree), the PyAV wheel the GPU image lacks from .whl/ (see
# docs/benchmarks.md, "GPU run").
#
#   tools/gpu_train.sh OUTDIR            # on the GPU machine
#   tools/gpu_train.sh --dry-run OUTDIR  # the same steps on the CPU, tiny settings (a test runs it)
set -euo pipefail
dry=0
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
out=${1:?usage: tools/gpu_train.sh [--dry-run] OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
py=$(command -v "${PYTHON:-python3}")
py="$(cd "$(dirname "$py")" && pwd)/$(basename "$py")"  # absolute: the script changes folders
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$out"
started=$(date +%s)
say() { echo "gpu_train: $* ($(( $(date +%s) - started )) s)" >&2; }

if ! "$py" -c "import av" 2>/dev/null; then  # the GPU image has no PyAV: install the carried wheel
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$root"/.whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

if [ $dry = 1 ]; then
  pack="$out/pack"
  "$py" "$root/tools/gpu_pack.py" --synthetic -o "$pack"
  jobs=2 clips=6 frames=8 size=64x64:96x64 device=cpu
  tune=(--set steps=4 --set batch=2 --set crop=64 --set val_every=0 --set save_every=0 --set cache_clips=16
        --set threads=1 --set precision='"fp32"')
else
  pack="$root/gpu_pack"
  jobs=16 clips=3000 frames=24 size=256x192:384x256 device=cuda
  tune=()
fi

# small goes on from the newest CPU stage (its checkpoint travels with the tree; the shipped
# weights come from it, without its ref_mix.0 block, as they ship) at a lower peak rate instead
# of starting from zero
small_init="$root/checkpoints/small_cpu_refs8/last.pt"
small_tune=()
if [ -f "$small_init" ]; then
  small_tune=(--set "init=\"$small_init\"" --set "drop_blocks=['ref_mix.0']" --set lr=1.5e-4)
fi

say "building clips from $pack"
"$py" -m redecode dataset "$pack/train" --val-sources "$pack/val" -o "$out/data" --clips $clips --val-clips 0 \
  --val-ladder --ladder-scenes 1 --video-downscale 1 --codec libx264 libx264 mpeg2video mpeg4 \
  --jobs $jobs --frames $frames --size $size
say "training base and small"
data=(--train "$out/data/train/*.npz" --val "$out/data/val_ladder/*_qp37.npz" --device $device
      --set "gate=[\"$out/data/val_ladder/*.npz\"]")
"$py" -m redecode train "$root/configs/train_base_gpu.toml" "${data[@]}" --out-dir "$out/base" "${tune[@]}" \
  > "$out/base.log" 2>&1 &
base=$!
"$py" -m redecode train "$root/configs/train_small_gpu.toml" "${data[@]}" --out-dir "$out/small" "${small_tune[@]}" "${tune[@]}" \
  > "$out/small.log" 2>&1 &
small=$!
wait $base && wait $small
cp "$out/base/model.pt" "$out/base.pt"
cp "$out/small/model.pt" "$out/small.pt"
cp "$out/base/log.csv" "$out/base_log.csv"
cp "$out/small/log.csv" "$out/small_log.csv"
say "quality table"
(cd "$root/tools" && "$py" bench_quality.py --ladder "$out/data/val_ladder" --model "$out/small.pt" "$out/base.pt" \
  --device $device --no-ablation) > "$out/quality.md"
say "done: $(ls "$out"/*.pt | tr '\n' ' ')"
