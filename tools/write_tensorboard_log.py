"""Writes a TensorBoard event file the way another trainer would, with TensorBoard's own writer
(tensorboard.summary.writer's EventFileWriter and tensorboard.compat.proto's Event), not ours:
per epoch epoch/train_loss, epoch/train_accuracy, epoch/learning_rate and, unless
--no-validation, epoch/val_loss and epoch/val_accuracy, mixed with step/loss per step and a
model/ scalar, which plots leave out. Also writes CSV with the same values as float32
(what TensorBoard stores) in the columns of `train --log`, for tools/check_pictures.py.
  write_tensorboard_log.py DIR CSV EPOCHS SEED [--no-validation]"""
import csv
import sys
import time

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

COLUMNS = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"]


def scalar(tag, step, value):
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    return event_pb2.Event(wall_time=time.time(), step=step, summary=summary)


def curves(epochs, seed, validation):
    """Noisy decreasing losses, rising accuracies, a step-decayed learning rate (float32)."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, epochs + 1)
    table = {"epoch": t, "train_loss": 2.0 / t ** 0.5 + 0.05 * rng.random(epochs),
             "train_accuracy": 1 - 0.8 / t ** 0.5 - 0.03 * rng.random(epochs),
             "val_loss": 2.2 / t ** 0.4 + 0.1 * rng.random(epochs),
             "val_accuracy": 1 - 0.9 / t ** 0.4 - 0.05 * rng.random(epochs),
             "lr": 0.1 * 0.5 ** (t // 3)}
    table = {k: v.astype(np.float32) for k, v in table.items()}
    if not validation:
        table["val_loss"] = table["val_accuracy"] = np.full(epochs, np.nan, np.float32)
    return table


def main(folder, csv_path, epochs, seed, validation):
    table = curves(epochs, seed, validation)
    writer = EventFileWriter(folder)
    for e in range(epochs):
        for step in range(e * 4 + 1, e * 4 + 5):  # per-step scalars at other steps: not epochs
            writer.add_event(scalar("step/loss", step, 3.0))
        for column in COLUMNS[1:]:
            if np.isfinite(table[column][e]):
                tag = "epoch/learning_rate" if column == "lr" else f"epoch/{column}"
                writer.add_event(scalar(tag, e + 1, float(table[column][e])))
        writer.add_event(scalar("model/trained_parameters", e + 1, 1000.0))
    writer.close()
    with open(csv_path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for e in range(epochs):
            out.writerow([e + 1] + [repr(float(table[c][e])) for c in COLUMNS[1:]])


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--no-validation"]
    if len(args) != 4:
        sys.exit(__doc__)
    main(args[0], args[1], int(args[2]), int(args[3]), "--no-validation" not in sys.argv)
