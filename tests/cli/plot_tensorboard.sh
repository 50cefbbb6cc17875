# onnxtrain plot DIR of TensorBoard event files. Files written by TensorBoard's own writer
# (tools/write_tensorboard_log.py, not ours) are one run each, each series one curve through
# every epoch's value (tools/check_pictures.py against the values written); a train
# --tensorboard folder draws the curves of its --log; a torn or damaged last record is skipped
# as TensorBoard skips it; damage before the end is an error giving the file and offset.
. "$(dirname "$0")/lib.sh"
"$PY" -c 'import tensorboard' 2>/dev/null || fail "tensorboard is missing from .deps/venv (run tools/setup.sh)"
WRITE="$SRC/tools/write_tensorboard_log.py"
mkdir "$WORK/tb"
"$PY" "$WRITE" "$WORK/tb" "$WORK/run1.csv" 7 1
"$PY" "$WRITE" "$WORK/tb" "$WORK/run2.csv" 9 2 --no-validation
[ "$(ls "$WORK/tb" | wc -l)" -eq 2 ] || fail "TensorBoard's writer should have made two files: $(ls "$WORK/tb")"
"$OT" plot "$WORK/tb" -o "$WORK/tb.svg" | grep -x "wrote $WORK/tb.svg (2 runs)" >/dev/null || fail "plot DIR of event files"
screenshot "$WORK/tb.svg" "$WORK/shot.png" 900 760
"$PY" "$SRC/tools/check_pictures.py" curves "$WORK/tb.svg" "$WORK/shot.png" "$WORK/run1.csv" "$WORK/run2.csv"
# Checked against one run's values only, the other run's curves are left over: the check can fail.
if "$PY" "$SRC/tools/check_pictures.py" curves "$WORK/tb.svg" "$WORK/shot.png" "$WORK/run1.csv" 2>/dev/null; then
  fail "check_pictures.py accepted a picture with another run's curves"
fi

# Our writer: the event files of train --tensorboard draw the curves of its CSV log; a single
# event file can be named too; a folder holding .csv logs stands for those.
"$OT" new dense:16:relu,dense:3 --input x:8 --seed 3 -o "$WORK/m.onnx" >/dev/null
awk 'BEGIN { for (i = 0; i < 100; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", sin(i * 7 + j * 3) + l * 0.3; print "" } }' >"$WORK/data.csv"
mkdir "$WORK/ours"
"$OT" train "$WORK/m.onnx" --data "csv:$WORK/data.csv" --val-split 0.2 --epochs 5 --batch 10 --seed 5 \
  --schedule cosine:40 -q --log "$WORK/ours/log.csv" --tensorboard "$WORK/ours" -o "$WORK/out.onnx"
"$OT" plot "$WORK/ours"/events.out.tfevents.* -o "$WORK/ours.svg" >/dev/null
"$PY" "$SRC/tools/check_pictures.py" curves "$WORK/ours.svg" "$WORK/shot.png" "$WORK/ours/log.csv"
"$OT" plot "$WORK/ours" -o "$WORK/csv.svg" | grep -x "wrote $WORK/csv.svg (1 run)" >/dev/null || fail "plot DIR with a .csv"

# Damage: copies of one file, each in a folder "v" (the run's name), with an epoch 99 record
# appended whole (it must show: else the next checks prove nothing), cut short, with a wrong
# checksum, or stray bytes; and one with a byte changed inside record 2.
"$PY" - "$(ls "$WORK"/tb/* | head -1)" "$WORK" <<'PY' >"$WORK/offset.txt"
import os, sys, time
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
data, work = open(sys.argv[1], "rb").read(), sys.argv[2]
records, at = [], 0
while at < len(data):
    records.append(at)
    at += 16 + int.from_bytes(data[at:at + 8], "little")
event = event_pb2.Event(wall_time=time.time(), step=99, summary=summary_pb2.Summary(
    value=[summary_pb2.Summary.Value(tag="epoch/train_loss", simple_value=5.0)])).SerializeToString()
header = len(event).to_bytes(8, "little")
header += masked_crc32c(header).to_bytes(4, "little")
whole = header + event + masked_crc32c(event).to_bytes(4, "little")
bad = header + event + (masked_crc32c(event) ^ 1).to_bytes(4, "little")
middle = bytearray(data)
middle[records[2] + 14] ^= 0x40
for name, content in {"clean": data, "whole": data + whole, "torn": data + whole[:-5], "bad_crc": data + bad,
                      "stray": data + b"\x05\x00\x00", "middle": bytes(middle)}.items():
    os.makedirs(f"{work}/{name}/v")
    open(f"{work}/{name}/v/events.out.tfevents.1.test", "wb").write(content)
print(records[2])
PY
"$OT" plot "$WORK/clean/v" -o "$WORK/clean.svg" >/dev/null
"$OT" plot "$WORK/whole/v" -o "$WORK/whole.svg" >/dev/null
! cmp -s "$WORK/whole.svg" "$WORK/clean.svg" || fail "a whole record appended (epoch 99) did not show"
for damage in torn bad_crc stray; do
  "$OT" plot "$WORK/$damage/v" -o "$WORK/$damage.svg" >/dev/null || fail "a $damage last record should be skipped"
  cmp -s "$WORK/$damage.svg" "$WORK/clean.svg" || fail "with a $damage last record, other curves are drawn"
done

# Errors: named, one line, the existing picture untouched.
cp "$WORK/tb.svg" "$WORK/before.svg"
middle="$WORK/middle/v/events.out.tfevents.1.test"
expect_error "$middle: the record at offset $(cat "$WORK/offset.txt") has a wrong data checksum" \
  "$OT" plot "$WORK/middle/v" -o "$WORK/tb.svg"
cp "$WORK/data.csv" "$WORK/not.tfevents"
expect_error "$WORK/not.tfevents: the record at offset 0 has a wrong length checksum" \
  "$OT" plot "$WORK/not.tfevents" -o "$WORK/tb.svg"
mkdir "$WORK/started"
head -c "$(cat "$WORK/offset.txt")" "$middle" >"$WORK/started/events.out.tfevents.2.test"
expect_error "no epoch/ scalars" "$OT" plot "$WORK/started" -o "$WORK/tb.svg"
mkdir "$WORK/empty"
expect_error "$WORK/empty: a folder without .csv logs or TensorBoard event files" "$OT" plot "$WORK/empty" -o "$WORK/tb.svg"
cmp -s "$WORK/tb.svg" "$WORK/before.svg" || fail "a failed plot changed the existing picture"
echo ok
