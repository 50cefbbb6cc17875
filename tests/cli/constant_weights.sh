# Weights stored as Constant nodes (paddle2onnx, tf2onnx): they import as trainable parameters
# under their own names, train to the same bits as the initializer version of the model, and
# the export writes them as initializers that ONNX Runtime runs. channel_last is tf2onnx's layout:
# HWIO kernels reach Conv through a Transpose (tools/fixtures/gen_channel_last_fixtures.py).
. "$(dirname "$0")/lib.sh"
require_ort
for model in cnn mlp_bn channel_last; do
  "$PY" - "$FIX/train/$model.onnx" "$WORK/${model}_const.onnx" <<'PYEOF'
import sys, onnx
from onnx import helper
m = onnx.load(sys.argv[1])
constants = [helper.make_node("Constant", [], [t.name], name="const_" + t.name, value=t) for t in m.graph.initializer]
nodes = constants + list(m.graph.node)
del m.graph.initializer[:]
del m.graph.node[:]
m.graph.node.extend(nodes)
onnx.checker.check_model(m)
onnx.save(m, sys.argv[2])
PYEOF
  data="npz:$FIX/train/data.npz"
  [ "$model" = cnn ] && data="npz:$FIX/train/data_img.npz"
  [ "$model" = channel_last ] && data="npz:$FIX/train/data_img_nhwc.npz"
  "$OT" info "$WORK/${model}_const.onnx" --json >"$WORK/info.json"
  "$PY" -c "import json,sys; info = json.load(open('$WORK/info.json')); sys.exit(0 if sum(l['parameters'] for l in info['layers']) > 0 else 1)" \
    || fail "$model: Constant weights are not parameters"
  for variant in "$FIX/train/$model.onnx" "$WORK/${model}_const.onnx"; do
    out="$WORK/$(basename "$variant" .onnx)_trained"
    "$OT" train "$variant" --data "$data" --epochs 2 --batch 16 --seed 3 --optimizer adam -q -o "$out.onnx"
    "$OT" convert "$out.onnx" -o "$out.npz" >/dev/null
  done
  "$PY" - "$WORK/${model}_trained.npz" "$WORK/${model}_const_trained.npz" <<'PYEOF' || fail "$model: Constant weights trained differently"
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert sorted(a.files) == sorted(b.files), (sorted(a.files), sorted(b.files))
for name in a.files:
    assert a[name].tobytes() == b[name].tobytes(), name
print(f"{len(a.files)} tensors bit-identical")
PYEOF
  # The export holds initializers, no Constant weights, and runs in ONNX Runtime as in onnxtrain.
  "$PY" -c "import onnx,sys; m = onnx.load('$WORK/${model}_const_trained.onnx'); sys.exit(0 if len(m.graph.initializer) > 0 else 1)" \
    || fail "$model: the export has no initializers"
  case $model in
  cnn) sine_npy "$WORK/x.npy" 4 1 8 8 ;;
  channel_last) sine_npy "$WORK/x.npy" 4 8 8 1 ;;
  *) sine_npy "$WORK/x.npy" 4 8 ;;
  esac
  "$OT" run "$WORK/${model}_const_trained.onnx" -i "$WORK/x.npy" -o "$WORK/ours" >/dev/null
  ort_run "$WORK/${model}_const_trained.onnx" "$WORK/ort" x="$WORK/x.npy" >/dev/null
  npy_close "$WORK/ours/logits.npy" "$WORK/ort/logits.npy" 1e-5 >/dev/null || fail "$model: export disagrees with ONNX Runtime"
done
