# train --tensorboard DIR: TensorBoard's own reader (tools/check_tensorboard.py) finds every
# scalar with the CSV log's step and value, skips a damaged last record, and sees only whole
# records while training is paused mid-run; a second run adds its own file and leaves the
# first alone; a folder that cannot be written is an error before training.
. "$(dirname "$0")/lib.sh"
"$PY" -c 'import tensorboard' 2>/dev/null || fail "tensorboard is missing from .deps/venv (run tools/setup.sh)"
"$OT" new dense:16:relu,dense:3 --input x:8 --seed 3 -o "$WORK/m.onnx" >/dev/null
awk 'BEGIN { for (i = 0; i < 100; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", sin(i * 7 + j * 3) + l * 0.3; print "" } }' >"$WORK/data.csv"
# 80 training samples (100 less the 20% held out), batch 10: 8 steps per epoch; the first
# dense layer frozen, so both parameter counts are there.
ARGS=(train "$WORK/m.onnx" --data "csv:$WORK/data.csv" --val-split 0.2 --epochs 4 --batch 10 --seed 5
  --freeze 0:1 --schedule cosine:40)
"$OT" "${ARGS[@]}" -q --log "$WORK/log.csv" --tensorboard "$WORK/tb" -o "$WORK/out.onnx"
params=$("$PY" -c 'import sys, onnx, numpy as np
m = onnx.load(sys.argv[1]); print(sum(int(np.prod(t.dims)) for t in m.graph.initializer))' "$WORK/out.onnx")
"$PY" "$SRC/tools/check_tensorboard.py" "$WORK/tb" "$WORK/log.csv" 8 "$params"

# A second run in the same folder: a new file; the first one's bytes stay as they were.
first=$(ls "$WORK/tb")
cp "$WORK/tb/$first" "$WORK/first.copy"
ONNXTRAIN_TEST_PAUSE_AT_STEP=13 "$OT" "${ARGS[@]}" -q --tensorboard "$WORK/tb2" -o "$WORK/out2.onnx" 2>"$WORK/run.err" &
pid=$!
wait_stopped "$pid" 13 "$WORK/run.err"
"$PY" "$SRC/tools/check_tensorboard.py" "$WORK/tb2" --steps-only 13
kill -CONT "$pid"
wait "$pid" || fail "the paused run failed: $(cat "$WORK/run.err")"
sleep 1 # another second in the file name, as a later run would have
"$OT" "${ARGS[@]}" -q --tensorboard "$WORK/tb" -o "$WORK/out3.onnx"
[ "$(ls "$WORK/tb" | wc -l)" -eq 2 ] || fail "a second run should add a second event file: $(ls "$WORK/tb")"
cmp -s "$WORK/tb/$first" "$WORK/first.copy" || fail "a second run changed the first run's event file"

# Folders that cannot be written: errors naming the flag, before any training.
touch "$WORK/a_file"
expect_error "--tensorboard: $WORK/a_file" "$OT" "${ARGS[@]}" --tensorboard "$WORK/a_file" -o "$WORK/x.onnx"
expect_error "--tensorboard: " "$OT" "${ARGS[@]}" --tensorboard /proc/onnxtrain-tb -o "$WORK/x.onnx"
[ ! -e "$WORK/x.onnx" ] || fail "a failed run wrote its model"
echo "ok"
