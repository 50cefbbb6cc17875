#!/usr/bin/env bash
# Acceptance check of the inference engine on torchvision classifiers and segmentation models (LR-ASPP, DeepLabV3 on MobileNetV3) exported at opsets 9,
# 11, 13 and 17 (tools/gen_torchvision.py): our outputs within 1e-4 absolute (or 1e-3
# relative) of ONNX Runtime's, and the import -> export round trip giving ONNX Runtime the
# same outputs as the original file, and onnx.checker (full check) passing the export. Models are large, so they are generated on demand.
#   tools/check_torchvision.sh [MODEL_DIR] [model ...]     (default /tmp/onnxtrain-torchvision)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/onnxtrain-torchvision}
shift || true
tools/setup.sh --torch >/dev/null
tools/py tools/gen_torchvision.py "$DIR" "$@" >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
printf "%-24s %-6s %-14s %-12s %s\n" model opset "max |ours-ort|" "round trip" verdict
for model in "$DIR"/*_op*.onnx; do
  base=$(basename "$model" .onnx)
  name=${base%_op*}
  opset=${base##*_op}
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  input="$DIR/${name}_input.npy"
  rm -rf "$WORK"/*
  verdict=ok
  if ! build/onnxtrain run "$model" -i input="$input" -o "$WORK/ours" 2>"$WORK/err"; then
    printf "%-24s %-6s %s\n" "$name" "$opset" "FAILED: $(cat "$WORK/err")"; failures=$((failures + 1)); continue
  fi
  tools/py tools/ort_run.py "$model" "$WORK/ort" input="$input"
  build/onnxtrain convert "$model" -o "$WORK/copy.onnx"
  tools/py -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' "$WORK/copy.onnx" ||
    { verdict="exported model fails onnx.checker"; failures=$((failures + 1)); }
  tools/py tools/ort_run.py "$WORK/copy.onnx" "$WORK/ort_copy" input="$input"
  diff=$(tools/py -c 'import sys, numpy as np
a, b, c = (np.load(f).astype(np.float64) for f in sys.argv[1:4])
d = np.abs(a - b)
bad = int(((d > 1e-4) & (d > 1e-3 * np.abs(b))).sum())
print(f"{d.max():.2e} {np.abs(c - b).max():.2e} {bad}")' "$WORK/ours/logits.npy" "$WORK/ort/logits.npy" "$WORK/ort_copy/logits.npy")
  read -r worst trip bad <<<"$diff"
  if [ "$bad" != 0 ]; then verdict="FAIL ($bad values off)"; failures=$((failures + 1)); fi
  if [ "$trip" != "0.00e+00" ]; then verdict="$verdict; round trip changed ONNX Runtime's output"; failures=$((failures + 1)); fi
  printf "%-24s %-6s %-14s %-12s %s\n" "$name" "$opset" "$worst" "$trip" "$verdict"
done
[ "$failures" -eq 0 ] && echo "all models agree with ONNX Runtime" || { echo "$failures failures"; exit 1; }
