#!/usr/bin/env bash
# Regenerates models/fashion5.onnx, the small CNN the README's demo fine-tunes: created with
# `onnxtrain new` and trained by onnxtrain itself on Fashion-MNIST classes 0-4 (T-shirt,
# trouser, pullover, dress, coat). Takes about a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >/dev/null
OT=build/onnxtrain
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$OT" new conv:16:3x3:1:1,batchnorm,relu,maxpool:2,conv:32:3x3:1:1,batchnorm,relu,maxpool:2,flatten,dense:64:relu,dense:5 \
  --input image:1x28x28 --seed 1 -o "$TMP/fashion5_init.onnx"
"$OT" train "$TMP/fashion5_init.onnx" --data fashion-mnist:train --classes 0-4 --val-split 0.1 \
  --test fashion-mnist:test --epochs 2 --batch 64 --seed 1 -o models/fashion5.onnx
"$OT" info models/fashion5.onnx
