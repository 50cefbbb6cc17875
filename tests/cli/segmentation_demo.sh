# tools/segmentation_demo.sh keeps working (one epoch here): onnxtrain's per-pixel accuracy and
# mean IoU on the test images equal ONNX Runtime's on the exported model.
. "$(dirname "$0")/lib.sh"
require_ort
(cd "$SRC" && NO_SETUP=1 EPOCHS=1 OUT="$WORK/demo" OT="$OT" tools/segmentation_demo.sh) >"$WORK/demo.txt" 2>&1 \
  || fail "segmentation demo failed: $(tail -5 "$WORK/demo.txt")"
ours=$(grep "^loss .* mean IoU" "$WORK/demo.txt" | sed -E 's/.*accuracy ([0-9.]+)  mean IoU ([0-9.]+).*/\1 \2/')
theirs=$(tail -1 "$WORK/demo.txt" | "$PY" -c 'import json,sys; d = json.load(sys.stdin); print("%.4f %.4f" % (d["accuracy"], d["mean_iou"]))')
[ -n "$ours" ] && [ "$ours" = "$theirs" ] || fail "onnxtrain says '$ours', ONNX Runtime '$theirs'"
