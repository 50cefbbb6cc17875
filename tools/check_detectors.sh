#!/usr/bin/env bash
# Acceptance check of detection models (issue 4/9): torchvision's SSDlite320-MobileNetV3 (opsets
# 11, 13) and Faster R-CNN MobileNetV3-320-FPN (opset 11), exported by PyTorch
# (tools/gen_detectors.py) with If, NonZero, NonMaxSuppression, TopK, GatherND, RoiAlign,
# ScatterElements: onnxtrain's boxes, scores and labels against ONNX Runtime's (same count,
# values within 1e-4). Models are large, so they are generated on demand.
#   tools/check_detectors.sh [MODEL_DIR]      (default /tmp/onnxtrain-detectors)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/onnxtrain-detectors}
tools/setup.sh --torch >/dev/null
tools/py tools/gen_detectors.py "$DIR" >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
printf "%-12s %-6s %-10s %-14s %s\n" model opset detections "max |ours-ort|" verdict
for model in "$DIR"/*_op*.onnx; do
  base=$(basename "$model" .onnx)
  name=${base%_op*}
  rm -rf "$WORK"/*
  if ! build/onnxtrain run "$model" -i images="$DIR/${name}_input.npy" -o "$WORK/ours" 2>"$WORK/err"; then
    printf "%-12s %-6s FAILED: %s\n" "$name" "${base##*_op}" "$(cat "$WORK/err")"; failures=$((failures + 1)); continue
  fi
  tools/py tools/ort_run.py "$model" "$WORK/ort" images="$DIR/${name}_input.npy" >/dev/null
  read -r count worst verdict < <(tools/py -c 'import sys, numpy as np
ours, ort = sys.argv[1], sys.argv[2]
worst, verdict = 0.0, "ok"
for n in ("boxes", "scores", "labels"):
    a, b = np.load(f"{ours}/{n}.npy"), np.load(f"{ort}/{n}.npy")
    if a.shape != b.shape or a.dtype != b.dtype:
        print(len(b), "-", f"{n}:{a.shape}{a.dtype}!={b.shape}{b.dtype}"); sys.exit()
    worst = max(worst, float(np.abs(a.astype(np.float64) - b).max()) if a.size else 0.0)
print(len(np.load(f"{ort}/scores.npy")), f"{worst:.2e}", "ok" if worst <= 1e-4 else "FAIL")' "$WORK/ours" "$WORK/ort")
  [ "$verdict" = ok ] || failures=$((failures + 1))
  printf "%-12s %-6s %-10s %-14s %s\n" "$name" "${base##*_op}" "$count" "$worst" "$verdict"
done
[ "$failures" -eq 0 ] && echo "all detectors agree with ONNX Runtime" || { echo "$failures failures"; exit 1; }
