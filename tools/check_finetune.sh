#!/usr/bin/env bash
# Acceptance check for transfer learning (issue 3/6): a PyTorch-pretrained CNN (Conv+BatchNorm+
# ReLU+MaxPool x2, Gemm, Gemm; tools/bench/finetune_torch.py pretrain) fine-tuned with frozen
# convolutions, --cut before the last Gemm and a new dense:5 head, Adam lr 1e-3, 20 epochs,
# batch 32, 500 training images (classes 5-9): onnxtrain's test accuracy, scored by ONNX Runtime
# on the exported model, against PyTorch's same fine-tune. Seeds differ between the two
# (initialisation and shuffling are each framework's own), so both run over several seeds and
# the means are compared (limit: 1.5 points).
#   tools/check_finetune.sh [WORK_DIR] [SEEDS]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/onnxtrain-finetune}
SEEDS=${2:-"1 2 3 4 5"}
tools/setup.sh --torch >/dev/null
[ -f "$DIR/pretrained.onnx" ] || /usr/bin/python3 tools/bench/finetune_torch.py pretrain "$DIR"
FM=/usr/share/datasets/fashion-mnist
ours=() theirs=()
for seed in $SEEDS; do
  build/onnxtrain train "$DIR/pretrained.onnx" --data fashion-mnist:train --classes 5-9 --per-class 100 \
    --freeze-upto /8/Flatten --cut /10/Relu --head dense:5 --cache "$DIR/cache" \
    --optimizer adam --lr 1e-3 --epochs 20 --batch 32 --seed "$seed" -q -o "$DIR/ours_$seed.onnx"
  a=$(tools/py tools/ort_accuracy.py "$DIR/ours_$seed.onnx" "$FM/t10k-images-idx3-ubyte.gz" "$FM/t10k-labels-idx1-ubyte.gz" --classes 5-9 |
      sed 's/.*"accuracy": \([0-9.]*\).*/\1/')
  b=$(/usr/bin/python3 tools/bench/finetune_torch.py finetune "$DIR" "$seed" | sed 's/.*"accuracy": \([0-9.]*\).*/\1/')
  echo "seed $seed: onnxtrain (scored by ONNX Runtime) $a   PyTorch $b"
  ours+=("$a"); theirs+=("$b")
done
awk -v a="${ours[*]}" -v b="${theirs[*]}" 'BEGIN {
  n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) { sa += x[i]; sb += y[i] }
  ma = 100 * sa / n; mb = 100 * sb / n; d = ma - mb; if (d < 0) d = -d
  printf "mean test accuracy: onnxtrain %.2f%%, PyTorch %.2f%%, difference %.2f points (limit 1.5)\n", ma, mb, d
  exit !(d <= 1.5) }'
