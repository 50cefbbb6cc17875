# --shape NAME=DIMS fixes symbolic input dims (a model exported with [N,3,H,W]): info shows
# every shape with it and names the unknown dims without it; run, train and eval accept it
# (the first dim stays the batch there); bad values are errors naming the flag.
. "$(dirname "$0")/lib.sh"
"$PY" - "$WORK/dyn.onnx" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
rng = np.random.default_rng(0)
w = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.2, "conv.w")
fc = numpy_helper.from_array(rng.standard_normal((2, 8)).astype(np.float32) * 0.2, "fc.w")
nodes = [helper.make_node("Conv", ["x", "conv.w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["r"], name="relu"),
         helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
         helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
         helper.make_node("Gemm", ["f", "fc.w"], ["logits"], name="fc", transB=1)]
g = helper.make_graph(nodes, "dyn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                      [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])], [w, fc])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
x = rng.standard_normal((6, 3, 12, 20)).astype(np.float32)
np.savez(sys.argv[1].replace("dyn.onnx", "data.npz"), x=x, y=np.arange(6) % 2)
np.save(sys.argv[1].replace("dyn.onnx", "x.npy"), x[:2])
PYEOF
"$OT" info "$WORK/dyn.onnx" >"$WORK/info.txt"
grep -qF "input 'x' has unknown dims 2 (H), 3 (W): fix them with --shape x=1x3xSIZExSIZE" "$WORK/info.txt" \
  || fail "info does not name the unknown dims: $(cat "$WORK/info.txt")"
"$OT" info "$WORK/dyn.onnx" --shape x=1x3x12x20 >"$WORK/info.txt"
grep -q "conv .*\[1,8,12,20\]" "$WORK/info.txt" || fail "info --shape: $(cat "$WORK/info.txt")"
grep -q "unknown dims" "$WORK/info.txt" && fail "info --shape still reports unknown dims"
"$OT" run "$WORK/dyn.onnx" -i x="$WORK/x.npy" --shape x=Nx3x12x20 -o "$WORK/out" >/dev/null
"$OT" train "$WORK/dyn.onnx" --data "npz:$WORK/data.npz" --shape x=1x3x12x20 --epochs 1 --batch 3 -q -o "$WORK/t.onnx"
"$OT" eval "$WORK/t.onnx" --data "npz:$WORK/data.npz" --shape x=1x3x12x20 >/dev/null
expect_error "has shape [2,3,12,20], the model expects [N,3,13,20]" "$OT" run "$WORK/dyn.onnx" -i x="$WORK/x.npy" --shape x=1x3x13x20 -o "$WORK/out"
expect_error "--shape x=1x3x0x20: expected NAME=DIMS" "$OT" info "$WORK/dyn.onnx" --shape x=1x3x0x20
expect_error "--shape y=1x3x12x20: the model has no input named 'y'" "$OT" info "$WORK/dyn.onnx" --shape y=1x3x12x20
expect_error "--shape x=1x3x12: input 'x' has 4 dims, the shape given has 3" "$OT" info "$WORK/dyn.onnx" --shape x=1x3x12
expect_error "--shape x=2x4x12x20: input 'x': dim 1 is 3 in the model, not 4" "$OT" info "$WORK/dyn.onnx" --shape x=2x4x12x20
