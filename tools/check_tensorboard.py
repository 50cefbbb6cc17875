"""Reads an `onnxtrain train --tensorboard DIR` folder with TensorBoard's own reader
(EventAccumulator over EventFileLoader) and checks it against the run's CSV log (--log):
every epoch scalar at steps 1..E with the CSV's value (float32, as TensorBoard stores it),
per-step loss and learning rate at steps 1..S, the epoch's learning rate that of its last
step, and step losses that average to the epoch's
training loss (equal batches); then copies of the folder with a damaged last record (cut
short, a wrong CRC, stray bytes) read back the same scalars. With --steps-only N: the folder of a run paused after step N
holds exactly steps 1..N, every record whole.
  check_tensorboard.py DIR LOG.csv STEPS_PER_EPOCH PARAMETERS
  check_tensorboard.py DIR --steps-only N"""
import csv
import glob
import os
import shutil
import sys
import time

import numpy as np
from tensorboard.backend.event_processing import event_accumulator, event_file_loader

EPOCH_TAGS = {"epoch/train_loss": "train_loss", "epoch/train_accuracy": "train_accuracy",
              "epoch/val_loss": "val_loss", "epoch/val_accuracy": "val_accuracy",
              "epoch/learning_rate": "lr"}


def fail(message):
    sys.exit(f"check_tensorboard: {message}")


def scalars(folder):
    acc = event_accumulator.EventAccumulator(folder, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


def same_float32(a, b):
    """TensorBoard keeps float32; the CSV has 9 significant digits of the double: 1 ulp apart at most."""
    a32, b32 = np.float32(a), np.float32(b)
    return abs(int(a32.view(np.int32)) - int(b32.view(np.int32))) <= 1


def records_whole(folder):
    """Every record of the single event file reads back with its CRCs (no truncated tail)."""
    files = glob.glob(f"{folder}/events.out.tfevents.*")
    if len(files) != 1:
        fail(f"{folder}: expected one event file, found {files}")
    loader = event_file_loader.RawEventFileLoader(files[0])
    count = sum(1 for _ in loader.Load())
    data = open(files[0], "rb").read()
    at = n = 0
    while at < len(data):  # walk the framing: the last record ends exactly at the end
        length = int.from_bytes(data[at:at + 8], "little")
        at += 16 + length
        n += 1
    if at != len(data) or n != count:
        fail(f"{files[0]}: {count} records read, {n} framed, framing ends at {at} of {len(data)} bytes")
    return count


def check_steps_only(folder, steps):
    records_whole(folder)
    got = scalars(folder)
    for tag in ("step/loss", "step/learning_rate"):
        found = [e.step for e in got.get(tag, [])]
        if found != list(range(1, steps + 1)):
            fail(f"{tag}: steps {found[:3]}..{found[-3:]}, expected 1..{steps}")
    print(f"paused after step {steps}: steps 1..{steps} there, every record whole")


def frame(payload, good_crc=True):
    """A TFRecord with correct CRCs (tensorboard's own masked CRC-32C), or a wrong data CRC."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    header = len(payload).to_bytes(8, "little")
    crc = masked_crc32c(payload) ^ (0 if good_crc else 1)
    return header + masked_crc32c(header).to_bytes(4, "little") + payload + crc.to_bytes(4, "little")


def as_pairs(got):
    return {t: [(e.step, e.value) for e in v] for t, v in got.items()}


def read_with_tail(folder, tail):
    copy = f"{folder}.damaged"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy)
    with open(glob.glob(f"{copy}/events.out.tfevents.*")[0], "ab") as f:
        f.write(tail)
    got = as_pairs(scalars(copy))
    shutil.rmtree(copy)
    return got


def check_damaged_tails(folder, expected):
    """A reader must skip a torn or corrupt last record, not fail: the scalars stay the same.
    The damaged record holds a real scalar (step/loss at step 999): whole, it would show."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    event = event_pb2.Event(wall_time=time.time(), step=999, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="step/loss", simple_value=1.0)])).SerializeToString()
    expected = as_pairs(expected)
    if read_with_tail(folder, frame(event)) == expected:
        fail("a whole appended record did not show: the damaged-tail checks prove nothing")
    tails = {"cut short": frame(event)[:-7], "wrong data CRC": frame(event, False),
             "header only": frame(event)[:12], "stray bytes": b"\x05\x00\x00"}
    for name, tail in tails.items():
        if read_with_tail(folder, tail) != expected:
            fail(f"with a last record {name}, TensorBoard reads other scalars")


def check_run(folder, log, steps_per_epoch, parameters):
    rows = list(csv.DictReader(open(log)))
    got = scalars(folder)
    epochs = len(rows)
    for tag, column in EPOCH_TAGS.items():
        events = got.get(tag, [])
        if [e.step for e in events] != list(range(1, epochs + 1)):
            fail(f"{tag}: steps {[e.step for e in events]}, expected 1..{epochs}")
        for e, row in zip(events, rows):
            if not same_float32(e.value, float(row[column])):
                fail(f"{tag} at epoch {e.step}: {e.value!r} in TensorBoard, {row[column]} in the CSV")
    steps = epochs * steps_per_epoch
    for tag in ("step/loss", "step/learning_rate"):
        if [e.step for e in got.get(tag, [])] != list(range(1, steps + 1)):
            fail(f"{tag}: not one value per step 1..{steps}")
    losses = np.array([e.value for e in got["step/loss"]], np.float64).reshape(epochs, steps_per_epoch)
    for epoch, row in enumerate(rows):
        mean = losses[epoch].mean()
        if not abs(mean - float(row["train_loss"])) <= 1e-6 * max(1.0, abs(mean)):
            fail(f"epoch {epoch + 1}: step losses average {mean}, the CSV's training loss is {row['train_loss']}")
        last_lr = got["step/learning_rate"][(epoch + 1) * steps_per_epoch - 1].value
        if not same_float32(last_lr, float(row["lr"])):
            fail(f"epoch {epoch + 1}: its last step's learning rate {last_lr}, the CSV's {row['lr']}")
    counts = [got[t][-1].value for t in ("model/trained_parameters", "model/frozen_parameters")]
    if counts[0] + counts[1] != parameters or counts[1] <= 0:
        fail(f"trained {counts[0]} + frozen {counts[1]} parameters, the ONNX file has {parameters}")
    walls = [e.wall_time for e in got["step/loss"]]
    if walls != sorted(walls) or not time.time() - 3600 < walls[0] <= time.time():
        fail(f"wall times not increasing or not of this hour: {walls[:3]}...")
    check_damaged_tails(folder, got)
    print(f"{records_whole(folder)} records, {len(got)} tags, {epochs} epochs, {steps} steps match the CSV log")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--steps-only":
        check_steps_only(sys.argv[1], int(sys.argv[3]))
    elif len(sys.argv) == 5:
        check_run(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
