#!/usr/bin/env python3
"""Scores a classifier with ONNX Runtime (the client users run exported models with) on IDX
image/label files (gzip or raw), optionally keeping some classes relabelled 0..k-1 in order,
exactly as `onnxtrain train --classes` does. Pixels become floats in [0,1], N x 1 x H x W.
  tools/py tools/ort_accuracy.py MODEL.onnx IMAGES.idx[.gz] LABELS.idx[.gz] [--classes 5-9]
Prints {"accuracy": ..., "samples": ...}."""
import gzip
import json
import sys

import numpy as np
import onnxruntime as ort


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def parse_classes(text):
    out = []
    for item in text.split(","):
        a, _, b = item.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def main(argv):
    if len(argv) not in (3, 5):
        sys.exit(__doc__)
    model, images_file, labels_file = argv[:3]
    images, labels = read_idx(images_file), read_idx(labels_file).astype(np.int64)
    if len(argv) == 5:
        classes = parse_classes(argv[4])
        keep = np.isin(labels, classes)
        images, labels = images[keep], np.array([classes.index(c) for c in labels[keep]])
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    correct = 0
    for start in range(0, len(x), 256):
        logits = sess.run(None, {name: x[start:start + 256]})[0]
        correct += int((logits.argmax(axis=1) == labels[start:start + 256]).sum())
    print(json.dumps({"accuracy": correct / len(x), "samples": len(x)}))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as e:
        sys.exit(f"ort_accuracy: {e}")
