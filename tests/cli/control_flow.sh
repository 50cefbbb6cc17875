# Models with If, Loop and Scan through the command line: `run` agrees with ONNX Runtime (a
# PyTorch export with an if on a tensor's value and a loop over its length, a PyTorch RNN loop,
# an If nested in a Loop, a Scan over axis 1 backwards), `convert` keeps the subgraphs (the export runs in ONNX
# Runtime with the same outputs), and the loop limits are errors, not hangs.
. "$(dirname "$0")/lib.sh"
CF="$FIX/control_flow"
require_ort
"$PY" - "$CF" "$WORK" <<'PYEOF'
import sys, numpy as np
cf, work = sys.argv[1], sys.argv[2]
d, hb = np.load(f"{cf}/data_flow.npz"), np.load(f"{cf}/hand_built.npz")
np.save(f"{work}/x_pos.npy", d["x_pos"]); np.save(f"{work}/x_neg.npy", d["x_neg"])
np.save(f"{work}/xs.npy", np.load(f"{cf}/loop_data.npz")["x"][:4])
np.save(f"{work}/x3.npy", hb["nested_x"]); np.save(f"{work}/s0.npy", hb["scan_s0"]); np.save(f"{work}/x25.npy", hb["scan_x"])
PYEOF

# check MODEL OUTPUTS INPUTS...: ours vs ONNX Runtime on MODEL, then on MODEL converted by us.
check() {
  local model=$1 outputs=$2 tag; shift 2
  tag=$(basename "$model" .onnx)_$(basename "${1#*=}" .npy)
  local flags=() input
  for input in "$@"; do flags+=(-i "$input"); done
  "$OT" run "$model" "${flags[@]}" -o "$WORK/$tag.ours" >"$WORK/run.txt" 2>&1 || fail "run $model: $(cat "$WORK/run.txt")"
  ort_run "$model" "$WORK/$tag.ort" "$@" >/dev/null
  "$OT" convert "$model" -o "$WORK/$tag.converted.onnx" >/dev/null || fail "convert $model"
  ort_run "$WORK/$tag.converted.onnx" "$WORK/$tag.exported" "$@" >/dev/null || fail "ONNX Runtime refuses our export of $model"
  for out in $outputs; do
    npy_close "$WORK/$tag.ours/$out.npy" "$WORK/$tag.ort/$out.npy" 1e-4 >/dev/null || fail "$tag: $out differs from ONNX Runtime"
    npy_close "$WORK/$tag.exported/$out.npy" "$WORK/$tag.ort/$out.npy" 0 >/dev/null || fail "$tag: the export's $out differs"
  done
}
check "$CF/data_flow.onnx" "y acc" x="$WORK/x_pos.npy"
check "$CF/data_flow.onnx" "y acc" x="$WORK/x_neg.npy"
check "$CF/loop_rnn.onnx" "logits" x="$WORK/xs.npy"
check "$CF/nested.onnx" "final steps" x="$WORK/x3.npy"
check "$CF/scan_axes.onnx" "s y" s0="$WORK/s0.npy" x="$WORK/x25.npy"
"$PY" -c "import numpy as np; np.save('$WORK/one.npy', np.ones(1, np.float32))"
expect_error "Loop node 'Loop_0' runs 4611686018427387904 iterations, over the limit of 100000" \
  "$OT" run "$CF/huge_loop.onnx" -i x="$WORK/one.npy" -o "$WORK/huge"
expect_error "Loop node 'Loop_0' is still running after 100000 iterations" \
  "$OT" run "$CF/endless_loop.onnx" -i x="$WORK/one.npy" -o "$WORK/endless"
expect_error "node 'If_0' reads tensor 'nowhere' (in a subgraph), which no node, graph input or initializer defines" \
  "$OT" info "$CF/undefined_outer.onnx"
