# SIGKILL at random points (fixed seed) while a 16 MiB model is exported and while training
# writes 12 MiB checkpoints: afterwards the target is always either byte-identical to the
# previous file or a complete new one, never a torn mix. The trials must include kills that
# landed mid-write (a temporary file left next to the target shows it), or they prove nothing.
# The points are file system calls, not moments: strace lists the calls a run makes, a seeded
# choice picks one, and strace kills a second run on entering that call (the Nth call of its
# name), so no trial depends on the machine's speed.
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "strace is missing (tools/setup.sh installs it)"
RANDOM=77
TRACED=openat,write,fsync,close,rename,unlink
# LeakSanitizer refuses to run under ptrace (the ASan build of this suite); every other test
# checks leaks, so the traced runs skip that check.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

# trace_points LOG CMD...: runs CMD under strace; LOG gets one line per traced call of the main
# thread, in order: its name, which call of that name it is (strace's inject counts per name),
# and "writing" from the opening of a temporary file (.NAME.tmp-*) to its rename or unlink.
trace_points() {
  local log=$1
  shift
  strace -f -qq -o "$log.raw" -e trace=$TRACED "$@" >/dev/null 2>&1 || fail "traced run failed: $*"
  awk 'NR == 1 { main = $1 }
       $1 != main { next }
       { name = $2; sub(/\(.*/, "", name) }
       name !~ /^[a-z0-9_]+$/ { next }
       { count[name]++ }
       name == "openat" && /\.tmp-/ { writing = 1 }
       { print name, count[name], (writing ? "writing" : "other") }
       name == "rename" || name == "unlink" { writing = 0 }' "$log.raw" >"$log"
  grep -q writing "$log" || fail "no temporary file written by: $*"
}
# pick_point LOG [writing]: the name and ordinal of a random line of LOG (of a "writing" line).
pick_point() {
  local n
  n=$(grep -c -- "${2:-}" "$1")
  grep -- "${2:-}" "$1" | sed -n "$((RANDOM % n + 1))p" | cut -d' ' -f1,2
}
# kill_at NAME ORDINAL CMD...: runs CMD, SIGKILLed on entering its ORDINALth call of NAME.
kill_at() {
  local name=$1 ordinal=$2
  shift 2
  strace -f -qq -o /dev/null -e trace="$name" -e inject="$name:signal=SIGKILL:when=$ordinal" "$@" >/dev/null 2>&1 || true
}
# Odd trials kill anywhere in the run (loading, training, writing), even ones while a
# temporary file is being written.
kill_somewhere() {
  local trial=$1 log=$2
  shift 2
  # shellcheck disable=SC2046
  kill_at $(pick_point "$log" "$([ $((trial % 2)) -eq 0 ] && echo writing)") "$@"
}
# Removes the temporary files a killed writer leaves next to $1; returns 0 if there were any.
leftovers() {
  local dir base found=1
  dir=$(dirname "$1") base=$(basename "$1")
  for f in "$dir"/."$base".tmp-*; do [ -e "$f" ] && { rm -f "$f"; found=0; }; done
  return $found
}

# --- export: convert A or B (same size, different weights) over the previous export --------
"$OT" new flatten,dense:2048:relu,dense:1024 --input x:1024 --seed 1 -o "$WORK/a.onnx"
"$OT" new flatten,dense:2048:relu,dense:1024 --input x:1024 --seed 2 -o "$WORK/b.onnx"
"$OT" convert "$WORK/a.onnx" -o "$WORK/export_a.onnx" >/dev/null
"$OT" convert "$WORK/b.onnx" -o "$WORK/export_b.onnx" >/dev/null
cmp -s "$WORK/export_a.onnx" "$WORK/export_b.onnx" && fail "the two exports should differ"
cp "$WORK/export_a.onnx" "$WORK/target.onnx"
trace_points "$WORK/export.points" "$OT" convert "$WORK/b.onnx" -o "$WORK/traced.onnx"
current=a torn=0 replaced=0
for trial in $(seq 12); do
  next=$([ "$current" = a ] && echo b || echo a)
  kill_somewhere "$trial" "$WORK/export.points" "$OT" convert "$WORK/$next.onnx" -o "$WORK/target.onnx"
  if cmp -s "$WORK/target.onnx" "$WORK/export_$next.onnx"; then
    current=$next replaced=$((replaced + 1))
  elif ! cmp -s "$WORK/target.onnx" "$WORK/export_$current.onnx"; then
    fail "export trial $trial: the target is neither the previous export nor the new one"
  fi
  if leftovers "$WORK/target.onnx"; then torn=$((torn + 1)); fi
done
echo "export: 12 kills, $torn mid-write, $replaced completed; the target was always whole"
[ "$torn" -gt 0 ] || fail "no kill landed while the export was being written"

# --- checkpoints: a run writing one per epoch, killed at random -----------------------------
awk 'BEGIN { for (i = 0; i < 200; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", cos(i * 5 + j) + l * 0.2; print "" } }' >"$WORK/data.csv"
"$OT" new flatten,dense:1024:relu,dense:1024:relu,dense:3 --input x:8 --seed 4 -o "$WORK/wide.onnx"
ARGS=(train "$WORK/wide.onnx" --data "csv:$WORK/data.csv" --batch 50 --seed 1 -q)
CK="$WORK/ck.zip"
# Four epochs: four checkpoints, each replacing the one before.
trace_points "$WORK/train.points" "$OT" "${ARGS[@]}" --epochs 4 --checkpoint "$WORK/traced.zip" -o "$WORK/traced.onnx"
torn=0 replaced=0
for trial in $(seq 12); do
  [ -e "$CK" ] && cp "$CK" "$WORK/ck_before.zip"
  kill_somewhere "$trial" "$WORK/train.points" "$OT" "${ARGS[@]}" --epochs 4 --checkpoint "$CK" -o "$WORK/wide_out.onnx"
  if leftovers "$CK"; then torn=$((torn + 1)); fi
  [ -e "$CK" ] || continue # killed before the first checkpoint
  if [ -e "$WORK/ck_before.zip" ] && cmp -s "$CK" "$WORK/ck_before.zip"; then continue; fi
  # Not the previous file: it must be a whole checkpoint. Resuming reads every entry (sizes,
  # CRCs); --epochs 1 makes it stop there and write the model.
  "$OT" "${ARGS[@]}" --epochs 1 --checkpoint "$CK" --resume -o "$WORK/check.onnx" >"$WORK/resume.txt" 2>&1 ||
    fail "checkpoint trial $trial: the checkpoint left by the kill does not load: $(cat "$WORK/resume.txt")"
  replaced=$((replaced + 1))
done
echo "checkpoints: 12 kills, $torn mid-write, $replaced new checkpoints; every one loaded whole"
[ "$torn" -gt 0 ] || fail "no kill landed while a checkpoint was being written"
[ "$replaced" -gt 0 ] || fail "no trial got as far as a checkpoint"
echo ok
