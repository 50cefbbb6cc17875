# A small CNN quantized by ONNX Runtime's static quantizer (tools/fixtures/gen_quantized_cnn.py,
# generated here: QDQ and QOperator formats) runs under `onnxtrain run` within one output
# quantization step of ONNX Runtime's output. One step, not exact: ONNX Runtime fuses a QDQ
# model's DequantizeLinear -> Conv -> QuantizeLinear into an integer QLinearConv, we compute
# that Conv in float32, so a value on a rounding tie may land one step away (the QOperator
# model's QLinearConv/QLinearMatMul are integer here too).
. "$(dirname "$0")/lib.sh"
require_ort
"$PY" "$SRC/tools/fixtures/gen_quantized_cnn.py" "$WORK" 2>/dev/null
for format in qdq qoperator; do
  "$OT" run "$WORK/$format.onnx" -i x="$WORK/x.npy" -o "$WORK/ours_$format"
  "$PY" -c 'import sys, numpy as np, onnx
from onnx import numpy_helper
model = onnx.load(sys.argv[1])
inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
last = next(n for n in model.graph.node if n.output[0] == "y")
assert last.op_type == "DequantizeLinear", last.op_type
step = float(inits[last.input[1]])
ours, theirs = np.load(sys.argv[2]), np.load(sys.argv[3])
assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, (ours.dtype, ours.shape, theirs.shape)
steps = np.abs(ours.astype(np.float64) - theirs) / step
print(f"{sys.argv[4]}: {int((steps < 1e-3).sum())} of {steps.size} outputs equal, largest difference {steps.max():.3f} steps")
sys.exit(0 if steps.max() <= 1 + 1e-3 else "more than one quantization step from ONNX Runtime")' \
    "$WORK/$format.onnx" "$WORK/ours_$format/y.npy" "$WORK/ort_$format.npy" "$format" ||
    fail "$format model differs from ONNX Runtime"
done
# Export keeps the declared dtypes (int8 weights, uint8 zero points, int32 biases): the
# converted model still runs in ONNX Runtime, with the same output.
"$OT" convert "$WORK/qoperator.onnx" -o "$WORK/converted.onnx"
ort_run "$WORK/converted.onnx" "$WORK/ort_converted" x="$WORK/x.npy"
npy_close "$WORK/ort_converted/y.npy" "$WORK/ort_qoperator.npy" 0 >/dev/null ||
  fail "the converted quantized model differs under ONNX Runtime"
