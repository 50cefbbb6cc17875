#!/usr/bin/env bash
# The README's main command: set up, then fine-tune the bundled CNN (models/fashion5.onnx,
# trained by onnxtrain on Fashion-MNIST classes 0-4) to classes 5-9 (sandal, shirt, sneaker,
# bag, ankle boot) from 100 images per class, a fifth of them held out for validation (never
# the test set): convolutions frozen and their features cached, a new 5-way head, 20 epochs;
# prints the validation and test accuracy, exports ONNX and scores the export
# with ONNX Runtime; then draws the run's learning curves and the fine-tuned network
# (docs/images/, shown in the README) and leaves a TensorBoard log in $OUT/tensorboard.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
OUT=${OUT:-build/demo}
mkdir -p "$OUT"
echo
echo "== fine-tuning models/fashion5.onnx on 500 images of 5 new classes =="
build/onnxtrain info models/fashion5.onnx --freeze-upto flatten1 | sed -n '/^index/,$p'
echo
time build/onnxtrain train models/fashion5.onnx \
  --data fashion-mnist:train --classes 5-9 --per-class 100 --val-split 0.2 --test fashion-mnist:test \
  --freeze-upto flatten1 --cut relu3 --head dense:5 --cache "$OUT/cache" \
  --optimizer adam --lr 1e-3 --epochs 20 --batch 32 --seed 42 -o "$OUT/fashion_5to9.onnx" \
  --log "$OUT/log.csv" --tensorboard "$OUT/tensorboard"
FM=/usr/share/datasets/fashion-mnist
echo
echo "== the exported model under ONNX Runtime =="
tools/py tools/ort_accuracy.py "$OUT/fashion_5to9.onnx" "$FM/t10k-images-idx3-ubyte.gz" "$FM/t10k-labels-idx1-ubyte.gz" --classes 5-9
echo
echo "== pictures: learning curves and the network (TensorBoard: tensorboard --logdir $OUT/tensorboard) =="
build/onnxtrain plot "$OUT/log.csv" -o "$OUT/curves.png"
build/onnxtrain info "$OUT/fashion_5to9.onnx" --freeze-upto flatten1 --graph "$OUT/model.png" >/dev/null
