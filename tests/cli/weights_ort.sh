# Weights conversion end to end against ONNX Runtime: every weights format converted into the
# zeroed architecture reproduces PyTorch's outputs; npz/safetensors round trips (see the
# script's header). Skipped without ONNX Runtime.
. "$(dirname "$0")/lib.sh"
if ! have_ort; then echo "note: ONNX Runtime not installed (tools/setup.sh); skipped"; exit 0; fi
node "$SRC/tools/check_weights_ort.js" "$BUILD"
