# Faults across ranks. A rank that cannot read its data stops every rank before training, the
# error naming it, nothing written; ranks given different data stop with the counts. A rank
# SIGKILLed mid-epoch ends the run on every rank within a bounded time, mpirun naming the rank,
# and the previous epoch's checkpoint stays whole and resumes. The kill lands at a chosen step:
# every rank stops itself after it (ONNXTRAIN_TEST_PAUSE_AT_STEP), so no timing is involved.
. "$(dirname "$0")/lib.sh"
require_mpi
awk 'BEGIN { for (i = 0; i < 200; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", cos(i * 5 + j) + l * 0.2; print "" } }' >"$WORK/data.csv"
"$OT" new flatten,dense:256:relu,dense:3 --input x:8 --seed 4 -o "$WORK/m.onnx"
TRAIN=(train "$WORK/m.onnx" --batch 10 --seed 1 -q -o "$WORK/out.onnx")

# expect_ranks_fail WORDS CMD...: fails (not by the timeout), WORDS on stderr, no model written.
expect_ranks_fail() {
  local words=$1 status=0
  shift
  timeout 120 "$@" >"$WORK/run.out" 2>"$WORK/run.err" || status=$?
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "expected the ranks to fail (status $status): $*"
  grep -qF -- "$words" "$WORK/run.err" || fail "expected '$words' in: $(cat "$WORK/run.err")"
  [ ! -e "$WORK/out.onnx" ] || fail "a model was written by a failed run"
}
expect_ranks_fail "rank 1 of 2: --data" \
  "${MPIRUN[@]}" -np 1 "$OT" "${TRAIN[@]}" --data "csv:$WORK/data.csv" : -np 1 "$OT" "${TRAIN[@]}" --data "csv:$WORK/gone.csv"
grep -qF "rank 1 could not get ready to train" "$WORK/run.err" || fail "rank 0 did not name rank 1: $(cat "$WORK/run.err")"
echo "missing data on rank 1: every rank stopped before training"
expect_ranks_fail "rank 1 of 2: 100 training samples here, between 100 and 200 on the 2 ranks" \
  "${MPIRUN[@]}" -np 1 "$OT" "${TRAIN[@]}" --data "csv:$WORK/data.csv" : -np 1 "$OT" "${TRAIN[@]}" --data "csv:$WORK/data.csv" --limit 100
echo "different data on the ranks: stopped with the counts"

# 200 samples, 2 ranks x 10: 10 steps an epoch. Every rank stops after step 15 (epoch 2).
ONNXTRAIN_TEST_PAUSE_AT_STEP=15 "${MPIRUN[@]}" -x ONNXTRAIN_TEST_PAUSE_AT_STEP -np 2 "$OT" "${TRAIN[@]}" \
  --data "csv:$WORK/data.csv" --epochs 3 --checkpoint "$WORK/ck.zip" >"$WORK/run.out" 2>"$WORK/run.err" &
launcher=$!
# RANK: the pid of that rank (a child of mpirun with OMPI_COMM_WORLD_RANK=RANK), or nothing yet.
# Always succeeds: under set -e, a failed match on the last child (say rank 0 spawned before
# rank 1) would otherwise end the script without a message.
rank_pid() {
  for pid in $(pgrep -P "$launcher"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -x "OMPI_COMM_WORLD_RANK=$1" >/dev/null; then echo "$pid"; fi
  done
  return 0
}
stopped() { [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = T ]; }
for _ in $(seq 6000); do
  r0=$(rank_pid 0) r1=$(rank_pid 1)
  [ -n "$r0" ] && [ -n "$r1" ] && stopped "$r0" && stopped "$r1" && break
  kill -0 "$launcher" 2>/dev/null || fail "the run ended before step 15: $(cat "$WORK/run.err")"
  sleep 0.02
done
stopped "$r0" && stopped "$r1" || fail "the ranks did not reach step 15 in 120 s"
cp "$WORK/ck.zip" "$WORK/ck_epoch1.zip"
kill -KILL "$r1"
kill -CONT "$r0"
start=$(date +%s)
status=0
wait "$launcher" || status=$?
took=$(($(date +%s) - start))
[ "$status" -ne 0 ] || fail "the run succeeded although rank 1 was killed"
[ "$took" -le 30 ] || fail "the ranks took ${took}s to stop after rank 1 died"
grep -q "process rank 1 with PID .* exited on signal 9" "$WORK/run.err" || fail "mpirun did not name rank 1: $(cat "$WORK/run.err")"
state=$(sed 's/.*) //' "/proc/$r0/stat" 2>/dev/null | cut -d' ' -f1) || true
echo "rank 0 after the run: ${state:-gone}"
[ -z "$state" ] || [ "$state" = Z ] || fail "rank 0 is still running (state $state)"
cmp "$WORK/ck.zip" "$WORK/ck_epoch1.zip" || fail "the epoch-1 checkpoint changed"
ls -a "$WORK" | grep '\.tmp-' >/dev/null && fail "a temporary file was left: $(ls -a "$WORK")"
[ ! -e "$WORK/out.onnx" ] || fail "a model was written by the killed run"
"$OT" "${TRAIN[@]}" --data "csv:$WORK/data.csv" --epochs 3 --checkpoint "$WORK/ck.zip" --resume >/dev/null ||
  fail "the checkpoint left by the killed run does not resume"
echo "rank 1 killed at step 15: every rank gone ${took}s later, the epoch-1 checkpoint intact and resumable"
echo ok
