# Weights conversion end to end against ONNX Runtime: every weights format converted into the
# zeroed architecture reproduces PyTorch's outputs; npz/safetensors round trips (see the
# script's header).
. "$(dirname "$0")/lib.sh"
require_ort
"$PY" "$SRC/tools/check_weights_ort.py" "$BUILD"
