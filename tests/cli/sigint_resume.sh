# Ctrl-C during training finishes the step, writes a checkpoint (mid-epoch when it lands in
# one), exits 130 and says how to resume; resuming gives the same final model, byte for byte,
# as a run never interrupted. A second Ctrl-C stops at once; SIGKILL loses only the epoch in
# progress. Signals arrive at steps drawn from a fixed seed: the run stops itself after that
# step (ONNXTRAIN_TEST_PAUSE_AT_STEP), the signals are sent, and SIGCONT lets them land there,
# whatever the machine's speed.
. "$(dirname "$0")/lib.sh"
RANDOM=2024
"$OT" new flatten,dense:64:relu,batchnorm,dropout:0.2,dense:3 --input x:8 --seed 3 -o "$WORK/m.onnx"
awk 'BEGIN { for (i = 0; i < 2000; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", sin(i * 7 + j * 3) + l * 0.3; print "" } }' >"$WORK/data.csv"
# Adam's moments, dropout's generator, a plateau schedule and validation all carry over.
EPOCHS=25 STEPS=1600 # 1600 training samples (2000 less the 20% held out), batch 1
ARGS=(train "$WORK/m.onnx" --data "csv:$WORK/data.csv" --val-split 0.2 --epochs $EPOCHS --batch 1
  --seed 5 --schedule plateau:2,0.5)
"$OT" "${ARGS[@]}" -q -o "$WORK/reference.onnx"

# start STEP: starts a run in the background that stops itself after training step STEP;
# returns once it has stopped there.
start() {
  rm -f "$WORK/ck.zip"
  ONNXTRAIN_TEST_PAUSE_AT_STEP=$1 "$OT" "${ARGS[@]}" -q -o "$WORK/run.onnx" --checkpoint "$WORK/ck.zip" \
    >"$WORK/run.out" 2>"$WORK/run.err" &
  pid=$!
  wait_stopped "$pid" "$1" "$WORK/run.err"
}
# A random step inside an epoch (not its last), after the first epoch when $1 is "later".
mid_step() {
  local first=0
  [ -z "${1:-}" ] || first=1
  local epoch=$((RANDOM % (EPOCHS - first) + first))
  echo $((epoch * STEPS + 1 + RANDOM % (STEPS - 1)))
}

# Resumes to the end and compares with the uninterrupted run; sets how it resumed.
resume_matches() {
  "$OT" "${ARGS[@]}" -o "$WORK/resumed.onnx" --checkpoint "$WORK/ck.zip" --resume >"$WORK/resume.out" ||
    fail "resume failed ($1): $(cat "$WORK/resume.out")"
  grep -q "resumed from $WORK/ck.zip at epoch" "$WORK/resume.out" || fail "no resume message ($1)"
  cmp -s "$WORK/resumed.onnx" "$WORK/reference.onnx" || fail "resumed model differs from the uninterrupted one ($1)"
}

# SIGINT inside an epoch: the checkpoint holds the position in the epoch.
for trial in 1 2 3; do
  step=$(mid_step)
  start "$step"
  kill -INT "$pid"
  kill -CONT "$pid"
  status=0; wait "$pid" || status=$?
  [ "$status" -eq 130 ] || fail "SIGINT at step $step: exit $status, expected 130 ($(cat "$WORK/run.err"))"
  grep -qE "^onnxtrain train: interrupted after epoch [0-9]+; resume with the same command and --resume$" "$WORK/run.err" ||
    fail "SIGINT: no message saying how to resume: $(cat "$WORK/run.err")"
  [ -s "$WORK/run.onnx" ] || fail "SIGINT: the model so far was not written"
  resume_matches "SIGINT at step $step"
  grep -q "(mid-epoch)" "$WORK/resume.out" || fail "SIGINT at step $step did not resume mid-epoch"
done
# SIGINT at an epoch's last step: the epoch ends (validation, checkpoint) and the run stops.
for trial in 1 2; do
  step=$(((RANDOM % (EPOCHS - 1) + 1) * STEPS))
  start "$step"
  kill -INT "$pid"
  kill -CONT "$pid"
  status=0; wait "$pid" || status=$?
  [ "$status" -eq 130 ] || fail "SIGINT at step $step: exit $status, expected 130"
  grep -q "interrupted after epoch $((step / STEPS));" "$WORK/run.err" || fail "SIGINT at step $step: $(cat "$WORK/run.err")"
  resume_matches "SIGINT at step $step"
  grep -q "(mid-epoch)" "$WORK/resume.out" && fail "SIGINT at the end of an epoch resumed mid-epoch"
done
echo "SIGINT: 3 mid-epoch and 2 end-of-epoch interruptions resumed identically"

# Two Ctrl-C: the second exits at once (130); whatever checkpoint is there still resumes. (The
# second signal lands during the first's checkpoint or after the run ended; both exit 130.)
step=$(mid_step later)
start "$step"
kill -INT "$pid"
kill -CONT "$pid"
kill -INT "$pid" 2>/dev/null || true
status=0; wait "$pid" || status=$?
[ "$status" -eq 130 ] || fail "second SIGINT: exit $status, expected 130"
resume_matches "two SIGINTs"

# SIGKILL: no chance to save; the last epoch's checkpoint is intact and resumes identically.
for trial in 1 2 3; do
  step=$(mid_step later)
  start "$step"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  resume_matches "SIGKILL at step $step"
  grep -q "(mid-epoch)" "$WORK/resume.out" && fail "a SIGKILLed run left a mid-epoch checkpoint"
  grep -q "at epoch $(((step - 1) / STEPS + 1))" "$WORK/resume.out" || fail "SIGKILL at step $step: $(cat "$WORK/resume.out")"
done
echo ok
