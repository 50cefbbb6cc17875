# --profile of run and train: one row per op type with its layer count, as `info --json`
# lists the layers, and each layer's forward runs equal to the runs made (run --repeat; the
# training steps of an epoch times the epochs); time only counted, never compared.
. "$(dirname "$0")/lib.sh"
"$OT" new dense:16:relu,dense:3 --input x:8 --seed 3 -o "$WORK/m.onnx" >/dev/null
awk 'BEGIN { for (i = 0; i < 100; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", sin(i * 7 + j * 3) + l * 0.3; print "" } }' >"$WORK/data.csv"
FIX="$SRC/tests/fixtures"

# layer_counts MODEL: "op count" lines from info --json, sorted
layer_counts() {
  "$OT" info --json "$1" | grep -o '"op": "[A-Za-z]*"' | cut -d'"' -f4 | sort | uniq -c | awk '{print $2, $1}'
}
# profile_counts OUT: "op layers" lines of the op-type table, sorted
profile_counts() {
  awk '/^op type/ { on = 1; next } /^slowest layers/ { on = 0 } on { print $1, $6 }' "$1" | sort
}
# check_runs OUT N: every layer row ran forward N times
check_runs() {
  awk -v n="$2" '/^slowest layers/ { on = 1; next } on && $NF != n { bad = 1; print } END { exit bad }' "$1" ||
    fail "a layer's forward runs differ from $2: $(cat "$1")"
}

MODEL=$FIX/weights/cnn.onnx
"$OT" run "$MODEL" -i "$FIX/weights/input.npy" -o "$WORK/out" --repeat 3 --profile >"$WORK/run.txt" ||
  fail "run --profile failed: $(cat "$WORK/run.txt")"
grep -q "^profile: [0-9.]* s in the layers (forward [0-9.]* s, backward 0.000 s)" "$WORK/run.txt" ||
  fail "no profile line: $(cat "$WORK/run.txt")"
[ "$(profile_counts "$WORK/run.txt")" = "$(layer_counts "$MODEL")" ] ||
  fail "op types and layer counts differ from info: $(profile_counts "$WORK/run.txt") vs $(layer_counts "$MODEL")"
check_runs "$WORK/run.txt" 3
echo "run --profile: every op type with its layer count, 3 runs each"

# 100 samples in batches of 10, 2 epochs: 20 steps, each layer forward and backward 20 times
"$OT" train "$WORK/m.onnx" --data "csv:$WORK/data.csv" --epochs 2 --batch 10 -q --profile \
  -o "$WORK/trained.onnx" >"$WORK/train.txt" || fail "train --profile failed: $(cat "$WORK/train.txt")"
[ "$(profile_counts "$WORK/train.txt")" = "$(layer_counts "$WORK/m.onnx")" ] ||
  fail "train: op types differ from info: $(cat "$WORK/train.txt")"
check_runs "$WORK/train.txt" 20
echo "train --profile: 20 steps of every layer"
expect_error "unknown flag '--profile'" "$OT" info "$WORK/m.onnx" --profile
echo ok
