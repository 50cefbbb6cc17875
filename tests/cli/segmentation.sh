# Per-pixel labels: logits (N, C, H, W) with labels (N, H, W), PyTorch's layout, ignored pixels
# left out: eval's loss and per-pixel accuracy against ONNX Runtime's logits scored in numpy,
# and training runs and lowers the loss.
. "$(dirname "$0")/lib.sh"
require_ort
"$PY" - "$WORK" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
work = sys.argv[1]
rng = np.random.default_rng(0)
w1 = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.3, "conv1.w")
w2 = numpy_helper.from_array(rng.standard_normal((4, 8, 1, 1)).astype(np.float32) * 0.3, "conv2.w")
b2 = numpy_helper.from_array(np.zeros(4, np.float32), "conv2.b")
nodes = [helper.make_node("Conv", ["x", "conv1.w"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
         helper.make_node("Conv", ["r1", "conv2.w", "conv2.b"], ["logits"], name="conv2")]
g = helper.make_graph(nodes, "seg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 5])],
                      [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 4, 6, 5])], [w1, w2, b2])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
onnx.checker.check_model(m)
onnx.save(m, f"{work}/seg.onnx")
x = rng.standard_normal((10, 3, 6, 5)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0.5)
y[:, 0, 0] = -100
np.savez(f"{work}/seg.npz", x=x, y=y)
PYEOF
"$OT" eval "$WORK/seg.onnx" --data "npz:$WORK/seg.npz" --json >"$WORK/before.json"
"$PY" - "$WORK" <<'PYEOF' || fail "per-pixel eval disagrees with ONNX Runtime + numpy"
import json, sys, numpy as np, onnxruntime as ort
work = sys.argv[1]
ours = json.load(open(f"{work}/before.json"))
d = np.load(f"{work}/seg.npz")
logits = ort.InferenceSession(f"{work}/seg.onnx").run(None, {"x": d["x"]})[0].astype(np.float64)
y = d["y"]; kept = y != -100
top = logits.max(1, keepdims=True)
lse = np.log(np.exp(logits - top).sum(1)) + top[:, 0]
nll = lse - np.take_along_axis(logits, np.where(kept, y, 0)[:, None], 1)[:, 0]
loss, acc = nll[kept].mean(), (logits.argmax(1) == y)[kept].mean()
print(f"ours {ours['loss']:.7f} {ours['accuracy']:.7f}, ORT + numpy {loss:.7f} {acc:.7f}")
sys.exit(0 if abs(ours["loss"] - loss) < 1e-5 and abs(ours["accuracy"] - acc) < 1e-9 else 1)
PYEOF
"$OT" train "$WORK/seg.onnx" --data "npz:$WORK/seg.npz" --epochs 20 --batch 5 --lr 0.01 -q -o "$WORK/trained.onnx"
"$OT" eval "$WORK/trained.onnx" --data "npz:$WORK/seg.npz" --json >"$WORK/after.json"
"$PY" -c "import json,sys; a=json.load(open('$WORK/before.json')); b=json.load(open('$WORK/after.json')); sys.exit(0 if b['loss'] < 0.8 * a['loss'] else 1)" \
  || fail "training did not lower the per-pixel loss: $(cat "$WORK/before.json" "$WORK/after.json")"
# Labels that fit neither layout are an error naming both shapes.
"$PY" -c "import numpy as np; d = np.load('$WORK/seg.npz'); np.savez('$WORK/bad.npz', x=d['x'], y=d['y'][:, :5, :])"
expect_error "labels of shape [5,5] per sample fit neither logits (C, ...) nor (..., C) of output 'logits', which has [4,6,5]" \
  "$OT" train "$WORK/seg.onnx" --data "npz:$WORK/bad.npz" -o "$WORK/m.onnx"

# Mean IoU over the classes present, against numpy on ONNX Runtime's predictions.
"$PY" - "$WORK" <<'PYEOF' || fail "mean IoU disagrees with ONNX Runtime + numpy"
import json, sys, numpy as np, onnxruntime as ort
work = sys.argv[1]
ours = json.load(open(f"{work}/after.json"))
d = np.load(f"{work}/seg.npz")
pred = ort.InferenceSession(f"{work}/trained.onnx").run(None, {"x": d["x"]})[0].argmax(1)
y = d["y"]; kept = y != -100
ious = [((pred == c) & (y == c) & kept).sum() / ((((pred == c) | (y == c)) & kept).sum())
        for c in range(4) if (((pred == c) | (y == c)) & kept).any()]
print(f"ours {ours['mean_iou']:.7f}, ORT + numpy {np.mean(ious):.7f}")
sys.exit(0 if abs(ours["mean_iou"] - np.mean(ious)) < 1e-9 else 1)
PYEOF
"$OT" eval "$FIX/train/mlp.onnx" --data "npz:$FIX/train/data.npz" --json | grep '"mean_iou": null' >/dev/null || fail "mean IoU without per-pixel labels should be null"

# Augmentation moves per-pixel labels with their image: a 1x1 convolution can only learn
# "class 1 where channel 0 > 0.5" if every flipped or shifted image keeps its labels aligned.
"$PY" - "$WORK" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
work = sys.argv[1]
rng = np.random.default_rng(3)
x = rng.uniform(0, 1, (64, 1, 8, 8)).astype(np.float32)
np.savez(f"{work}/aug.npz", x=x, y=(x[:, 0] > 0.5).astype(np.int64))
w = numpy_helper.from_array(np.zeros((2, 1, 1, 1), np.float32), "w")
b = numpy_helper.from_array(np.zeros(2, np.float32), "b")
g = helper.make_graph([helper.make_node("Conv", ["x", "w", "b"], ["logits"], name="conv")], "aug",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
                      [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2, 8, 8])], [w, b])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), f"{work}/aug.onnx")
PYEOF
"$OT" train "$WORK/aug.onnx" --data "npz:$WORK/aug.npz" --augment flip,shift:2,crop:2 --epochs 30 --batch 8 --lr 0.1 \
  --optimizer adam -q -o "$WORK/aug_trained.onnx"
"$OT" eval "$WORK/aug_trained.onnx" --data "npz:$WORK/aug.npz" --json >"$WORK/aug.json"
"$PY" -c "import json,sys; r = json.load(open('$WORK/aug.json')); print(r); sys.exit(0 if r['accuracy'] > 0.97 else 1)" >/dev/null \
  || fail "augmented segmentation did not learn the pixel rule: $(cat "$WORK/aug.json")"
