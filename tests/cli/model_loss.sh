# A model that carries its own loss node (SoftmaxCrossEntropyLoss after the logits, the labels a
# graph input fed from the data's y) trains with --output naming the loss: one epoch of SGD
# (batch 32, no shuffling) reaches PyTorch's weights (tools/fixtures/gen_train_fixtures.py's
# "sgd" case) as the plain model does with --loss softmax-ce; a loss output that is not one
# value is refused.
. "$(dirname "$0")/lib.sh"
require_ort
"$PY" - "$FIX/train/mlp.onnx" "$WORK/with_loss.onnx" "$WORK/per_sample.onnx" <<'PYEOF'
import sys, onnx
from onnx import helper, TensorProto
for path, reduction in ((sys.argv[2], "mean"), (sys.argv[3], "none")):
    m = onnx.load(sys.argv[1])
    g = m.graph
    g.input.append(helper.make_tensor_value_info("labels", TensorProto.INT64, ["N"]))
    g.node.append(helper.make_node("SoftmaxCrossEntropyLoss", ["logits", "labels"], ["loss"], name="loss_node",
                                   reduction=reduction))
    g.output.insert(0, helper.make_tensor_value_info("loss", TensorProto.FLOAT, [] if reduction == "mean" else ["N"]))
    onnx.checker.check_model(m)
    onnx.save(m, path)
PYEOF
DATA="npz:$FIX/train/data.npz:x=x,y=y,labels=y"
"$OT" train "$WORK/with_loss.onnx" --data "$DATA" --input x --output loss --optimizer sgd --lr 0.1 --epochs 1 \
  --batch 32 --no-shuffle -o "$WORK/own.onnx" >"$WORK/own.txt" || fail "training on the model's own loss failed"
grep -q "loss output" "$WORK/own.txt" || fail "train did not say it trains on the model's own loss: $(cat "$WORK/own.txt")"
"$OT" convert "$WORK/own.onnx" -o "$WORK/own.npz" >/dev/null
"$PY" - "$WORK/own.npz" "$FIX/train/expected/sgd.npz" <<'PYEOF' || fail "the model's own loss trained differently from PyTorch"
import sys, numpy as np
got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
worst = 0.0
for name in want.files:
    worst = max(worst, float(np.abs(got[name] - want[name]).max()))
assert worst <= 1e-4, worst
print(f"{len(want.files)} tensors within {worst:.1e} of PyTorch")
PYEOF
# eval scores the same output as the loss.
"$OT" eval "$WORK/own.onnx" --data "$DATA" --input x --output loss --json >"$WORK/eval.json"
"$PY" -c "import json; e = json.load(open('$WORK/eval.json')); assert 0 < e['loss'] < 5 and e['samples'] == 100, e"
expect_error "has 32 values per batch, not one" "$OT" train "$WORK/per_sample.onnx" --data "$DATA" --input x \
  --output loss --epochs 1 -o "$WORK/bad.onnx"
