# From scratch on Fashion-MNIST, 5 epochs, batch 64: the seed's MLP (784-300-100-10) with He
# init + ELU + Adam, the same with BatchNorm + dropout, and LeCun + SELU + Nesterov each reach
# >= 0.85 test accuracy, scored by ONNX Runtime on the exported model.
. "$(dirname "$0")/lib.sh"
require_ort
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || fail "Fashion-MNIST missing (tools/setup.sh installs dataset-fashion-mnist)"
FM=/usr/share/datasets/fashion-mnist
recipe() {
  local name=$1 spec=$2 init=$3; shift 3
  "$OT" new "$spec" --input x:1x28x28 --init "$init" --seed 1 -o "$WORK/$name.onnx"
  "$OT" train "$WORK/$name.onnx" --data fashion-mnist:train --epochs 5 --batch 64 --seed 1 -q "$@" -o "$WORK/${name}_trained.onnx"
  local accuracy
  accuracy=$(ort_accuracy_json "$WORK/${name}_trained.onnx")
  echo "$name: test accuracy $accuracy"
  awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.85) }' || fail "$name reached only $accuracy"
}
ort_accuracy_json() {
  "$PY" "$SRC/tools/ort_accuracy.py" "$1" "$FM/t10k-images-idx3-ubyte.gz" "$FM/t10k-labels-idx1-ubyte.gz" |
    sed 's/.*"accuracy": \([0-9.]*\).*/\1/'
}
recipe he_elu_adam flatten,dense:300:elu,dense:100:elu,dense:10 he_normal --optimizer adam
recipe bn_dropout flatten,dense:300,batchnorm,elu,dropout:0.2,dense:100,batchnorm,elu,dropout:0.2,dense:10 he_normal --optimizer adam
recipe selu_nesterov flatten,dense:300:selu,dense:100:selu,dense:10 lecun_normal --optimizer nesterov --lr 0.01
echo ok
