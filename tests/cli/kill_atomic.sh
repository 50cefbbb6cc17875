# SIGKILL at random points (fixed seed) while a 16 MiB model is exported and while training
# writes 12 MiB checkpoints: afterwards the target is always either byte-identical to the
# previous file or a complete new one, never a torn mix. The trials must include kills that
# landed mid-write (a temporary file left next to the target shows it), or they prove nothing.
. "$(dirname "$0")/lib.sh"
RANDOM=77

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }
# Sleeps a random time in [0, $1] ms.
random_sleep() { local ms=$((RANDOM * ($1 + 1) / 32768)); sleep "$(printf "%d.%03d" $((ms / 1000)) $((ms % 1000)))"; }
# Waits until a writer has opened its temporary file next to $1 (or $2 has exited).
await_write() {
  local dir base
  dir=$(dirname "$1") base=$(basename "$1")
  for _ in $(seq 5000); do
    compgen -G "$dir/.$base.tmp-*" >/dev/null && return
    kill -0 "$2" 2>/dev/null || return
    sleep 0.001
  done
}
# Kills $2 after a random delay: for odd trials ($3) anywhere in [0, $4] ms from now (loading,
# training, writing), for even ones in [0, $5] ms after it starts writing $1.
kill_at_random() {
  if [ $(($3 % 2)) -eq 1 ]; then random_sleep "$4"; else await_write "$1" "$2"; random_sleep "$5"; fi
  kill -KILL "$2" 2>/dev/null || true
  wait "$2" 2>/dev/null || true
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
start=$(now_ms)
"$OT" convert "$WORK/a.onnx" -o "$WORK/export_a.onnx" >/dev/null
span=$(($(now_ms) - start + 50))
"$OT" convert "$WORK/b.onnx" -o "$WORK/export_b.onnx" >/dev/null
cmp -s "$WORK/export_a.onnx" "$WORK/export_b.onnx" && fail "the two exports should differ"
cp "$WORK/export_a.onnx" "$WORK/target.onnx"
current=a torn=0 replaced=0
for trial in $(seq 12); do
  next=$([ "$current" = a ] && echo b || echo a)
  "$OT" convert "$WORK/$next.onnx" -o "$WORK/target.onnx" >/dev/null 2>&1 &
  kill_at_random "$WORK/target.onnx" $! "$trial" "$span" $((span / 2))
  if cmp -s "$WORK/target.onnx" "$WORK/export_$next.onnx"; then
    current=$next replaced=$((replaced + 1))
  elif ! cmp -s "$WORK/target.onnx" "$WORK/export_$current.onnx"; then
    fail "export trial $trial: the target is neither the previous export nor the new one"
  fi
  if leftovers "$WORK/target.onnx"; then torn=$((torn + 1)); fi
done
echo "export: 12 kills within ${span} ms, $torn mid-write, $replaced completed; the target was always whole"
[ "$torn" -gt 0 ] || fail "no kill landed while the export was being written"

# --- checkpoints: a run writing one per epoch, killed at random -----------------------------
awk 'BEGIN { for (i = 0; i < 200; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", cos(i * 5 + j) + l * 0.2; print "" } }' >"$WORK/data.csv"
"$OT" new flatten,dense:1024:relu,dense:1024:relu,dense:3 --input x:8 --seed 4 -o "$WORK/wide.onnx"
ARGS=(train "$WORK/wide.onnx" --data "csv:$WORK/data.csv" --batch 50 --seed 1 -q)
CK="$WORK/ck.zip"
torn=0 replaced=0
for trial in $(seq 12); do
  [ -e "$CK" ] && cp "$CK" "$WORK/ck_before.zip"
  "$OT" "${ARGS[@]}" --epochs 1000 --checkpoint "$CK" -o "$WORK/wide_out.onnx" >/dev/null 2>&1 &
  kill_at_random "$CK" $! "$trial" 1500 60
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
