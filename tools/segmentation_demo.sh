#!/usr/bin/env bash
# Segmentation end to end: a synthetic data set of discs and squares (tools/seg_shapes.py), a
# small fully convolutional network from `onnxtrain new` (logits N x 3 x 32 x 32), trained with
# per-pixel cross-entropy (rims ignored), scored by `onnxtrain eval` (per-pixel accuracy, mean
# IoU), exported, and scored again by ONNX Runtime.
#   tools/segmentation_demo.sh   (EPOCHS=N to shorten; NO_SETUP=1 skips tools/setup.sh; OUT=DIR,
#                                 OT=BINARY to use another folder or build)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${NO_SETUP:-0}" = 1 ] || tools/setup.sh
OUT=${OUT:-build/segmentation_demo}
OT=${OT:-build/onnxtrain}
mkdir -p "$OUT"
tools/py tools/seg_shapes.py "$OUT"
"$OT" new conv:16:3x3:1:same:relu,conv:16:3x3:1:same:relu,conv:16:3x3:1:same:relu,conv:3:1x1 \
  --input x:3x32x32 --seed 1 -o "$OUT/fcn.onnx"
echo "== training a fully convolutional net on 512 images, per-pixel labels =="
time "$OT" train "$OUT/fcn.onnx" --data "npz:$OUT/train.npz" --val "npz:$OUT/test.npz" \
  --optimizer adam --lr 3e-3 --epochs "${EPOCHS:-12}" --batch 16 --seed 1 -o "$OUT/fcn_trained.onnx"
echo
echo "== onnxtrain eval on the 128 test images =="
"$OT" eval "$OUT/fcn_trained.onnx" --data "npz:$OUT/test.npz"
echo
echo "== the exported model under ONNX Runtime =="
tools/py tools/ort_segmentation.py "$OUT/fcn_trained.onnx" "$OUT/test.npz"
