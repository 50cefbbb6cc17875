# Ctrl-C during training finishes the step, writes a checkpoint (mid-epoch when it lands in
# one), exits 130 and says how to resume; resuming gives the same final model, byte for byte,
# as a run never interrupted. A second Ctrl-C stops at once; SIGKILL loses only the epoch in
# progress. Delays come from a fixed seed.
. "$(dirname "$0")/lib.sh"
RANDOM=2024
"$OT" new flatten,dense:64:relu,batchnorm,dropout:0.2,dense:3 --input x:8 --seed 3 -o "$WORK/m.onnx"
# 2000 samples: epochs long next to the checkpoint written after each, so that Ctrl-C mostly
# lands mid-epoch.
awk 'BEGIN { for (i = 0; i < 2000; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", sin(i * 7 + j * 3) + l * 0.3; print "" } }' >"$WORK/data.csv"
# Adam's moments, dropout's generator, a plateau schedule and validation all carry over.
ARGS=(train "$WORK/m.onnx" --data "csv:$WORK/data.csv" --val-split 0.2 --epochs 25 --batch 1
  --seed 5 --schedule plateau:2,0.5)
"$OT" "${ARGS[@]}" -q -o "$WORK/reference.onnx"

# Starts a run in the background; returns once its first checkpoint exists.
start() {
  rm -f "$WORK/ck.zip"
  "$OT" "${ARGS[@]}" -q -o "$WORK/run.onnx" --checkpoint "$WORK/ck.zip" >"$WORK/run.out" 2>"$WORK/run.err" &
  pid=$!
  for _ in $(seq 2000); do [ -e "$WORK/ck.zip" ] && return; sleep 0.01; done
  fail "no checkpoint after 20 s"
}

# Resumes to the end and compares with the uninterrupted run; sets how it resumed.
resume_matches() {
  "$OT" "${ARGS[@]}" -o "$WORK/resumed.onnx" --checkpoint "$WORK/ck.zip" --resume >"$WORK/resume.out" ||
    fail "resume failed ($1): $(cat "$WORK/resume.out")"
  grep -q "resumed from $WORK/ck.zip at epoch" "$WORK/resume.out" || fail "no resume message ($1)"
  cmp -s "$WORK/resumed.onnx" "$WORK/reference.onnx" || fail "resumed model differs from the uninterrupted one ($1)"
}

delay() { printf "0.%03d" $((RANDOM % 300)); }

# SIGINT at random points until one lands mid-epoch (the checkpoint then holds the position in
# the epoch) and one at an epoch's end; each resumes to the reference.
mid=0 boundary=0
for trial in 1 2 3 4 5 6 7 8; do
  start
  sleep "$(delay)"
  kill -INT "$pid"
  status=0; wait "$pid" || status=$?
  [ "$status" -eq 130 ] || fail "SIGINT: exit $status, expected 130 ($(cat "$WORK/run.err"))"
  grep -qE "^onnxtrain train: interrupted after epoch [0-9]+; resume with the same command and --resume$" "$WORK/run.err" ||
    fail "SIGINT: no message saying how to resume: $(cat "$WORK/run.err")"
  [ -s "$WORK/run.onnx" ] || fail "SIGINT: the model so far was not written"
  resume_matches "SIGINT trial $trial"
  if grep -q "(mid-epoch)" "$WORK/resume.out"; then mid=$((mid + 1)); else boundary=$((boundary + 1)); fi
  [ "$mid" -gt 0 ] && [ "$boundary" -gt 0 ] && break
done
echo "SIGINT: $mid mid-epoch and $boundary end-of-epoch interruptions resumed identically"
[ "$mid" -gt 0 ] || fail "no SIGINT landed mid-epoch in 8 trials"

# Two Ctrl-C: the second exits at once (130); whatever checkpoint is there still resumes.
start
sleep "$(delay)"
kill -INT "$pid"; kill -INT "$pid"
status=0; wait "$pid" || status=$?
[ "$status" -eq 130 ] || fail "second SIGINT: exit $status, expected 130"
resume_matches "two SIGINTs"

# SIGKILL: no chance to save; the last epoch's checkpoint is intact and resumes identically.
for trial in 1 2 3; do
  start
  sleep "$(delay)"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  resume_matches "SIGKILL trial $trial"
  grep -q "(mid-epoch)" "$WORK/resume.out" && fail "a SIGKILLed run left a mid-epoch checkpoint"
done
echo ok
