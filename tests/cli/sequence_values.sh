# Sequence-typed graph inputs and outputs through `run`: a sequence is a folder of 0.npy, 1.npy,
# ...; ours agree with ONNX Runtime on a model with a sequence output (SplitToSequence) and one
# with a sequence input (SequenceInsert), `convert` keeps them (the export runs in ONNX Runtime
# with the same outputs), a Loop carrying a sequence runs unrolled, and a file for a sequence or a folder for a tensor is an error.
. "$(dirname "$0")/lib.sh"
SV="$FIX/sequence_values"
require_ort
"$PY" - "$SV" "$WORK" <<'PYEOF'
import os, sys, numpy as np
sv, work = sys.argv[1], sys.argv[2]
d = np.load(f"{sv}/inputs.npz")
np.save(f"{work}/x6.npy", d["x6"]); np.save(f"{work}/x.npy", d["x"])
for name, n in (("seq", 3), ("empty", 0)):
    os.makedirs(f"{work}/{name}")
    for k in range(n):
        np.save(f"{work}/{name}/{k}.npy", d[f"seq{k}"])
PYEOF

# same A B TOL: every .npy under folder A (sequence outputs are folders) is within TOL of B's.
same() {
  local a=$1 b=$2 tol=$3 file
  [ "$(cd "$a" && find . -name '*.npy' | sort)" = "$(cd "$b" && find . -name '*.npy' | sort)" ] ||
    fail "$a and $b hold different files: $(cd "$a" && find . | sort) vs $(cd "$b" && find . | sort)"
  for file in $(cd "$a" && find . -name '*.npy'); do
    npy_close "$a/$file" "$b/$file" "$tol" >/dev/null || fail "$a/$file differs from $b/$file"
  done
}

# check TAG MODEL INPUTS...: ours vs ONNX Runtime on MODEL, then on MODEL converted by us.
check() {
  local tag=$1 model=$2 flags=() input; shift 2
  for input in "$@"; do flags+=(-i "$input"); done
  "$OT" run "$model" "${flags[@]}" -o "$WORK/$tag.ours" >"$WORK/run.txt" 2>&1 || fail "run $tag: $(cat "$WORK/run.txt")"
  ort_run "$model" "$WORK/$tag.ort" "$@" >/dev/null
  "$OT" convert "$model" -o "$WORK/$tag.converted.onnx" >/dev/null || fail "convert $tag"
  ort_run "$WORK/$tag.converted.onnx" "$WORK/$tag.exported" "$@" >/dev/null || fail "ONNX Runtime refuses our export of $tag"
  same "$WORK/$tag.ours" "$WORK/$tag.ort" 1e-6
  same "$WORK/$tag.exported" "$WORK/$tag.ort" 0
}
check split "$SV/split_seq.onnx" x="$WORK/x6.npy"
[ -f "$WORK/split.ours/pieces/2.npy" ] && [ ! -e "$WORK/split.ours/pieces/3.npy" ] || fail "pieces: not 3 elements"
check insert "$SV/insert_seq.onnx" seq="$WORK/seq" x="$WORK/x.npy"
[ -f "$WORK/insert.ours/grown/3.npy" ] || fail "grown: not 4 elements"
check loop "$SV/loop_seq.onnx" x="$WORK/x.npy"
[ -f "$WORK/loop.ours/grown/2.npy" ] && [ ! -e "$WORK/loop.ours/grown/3.npy" ] || fail "grown: not 3 elements"
expect_error "Loop node 'Loop_1' carries or reads a sequence, so it runs as copies of its body: the body's condition output must be its condition input" \
  "$OT" run "$SV/loop_seq_stops.onnx" -i x="$WORK/x.npy" -o "$WORK/bad"
# loop_seq.onnx's `grown` (3 elements) into insert's folder: the earlier run's 4th element goes.
"$OT" run "$SV/loop_seq.onnx" -i x="$WORK/x.npy" -o "$WORK/insert.ours" >/dev/null 2>&1 || fail "loop into insert.ours"
[ -f "$WORK/insert.ours/grown/2.npy" ] && [ ! -e "$WORK/insert.ours/grown/3.npy" ] || fail "stale element 3 of an earlier run"

# An empty folder is an empty sequence, into which position 1 does not fit (ONNX Runtime agrees).
expect_error "SequenceInsert node 'SequenceInsert_1': position 1 is outside the sequence of 0 elements" \
  "$OT" run "$SV/insert_seq.onnx" -i seq="$WORK/empty" -i x="$WORK/x.npy" -o "$WORK/bad"

expect_error "input 'seq' is a sequence: $WORK/x.npy is not a folder" \
  "$OT" run "$SV/insert_seq.onnx" -i seq="$WORK/x.npy" -i x="$WORK/x.npy" -o "$WORK/bad"
expect_error "input 'x' is a tensor: $WORK/seq is a folder" \
  "$OT" run "$SV/insert_seq.onnx" -i seq="$WORK/seq" -i x="$WORK/seq" -o "$WORK/bad"
expect_error "input 'seq' is not given (-i seq=FOLDER)" \
  "$OT" run "$SV/insert_seq.onnx" -i x="$WORK/x.npy" -o "$WORK/bad"
