#!/usr/bin/env python3
"""A synthetic segmentation data set for tools/segmentation_demo.sh: 3 x 32 x 32 images of
noisy background with up to three shapes, and per-pixel labels 0 (background), 1 (discs),
2 (squares); the one-pixel rim of each shape is left out (-100, the ignore index), as
annotators leave uncertain borders. Deterministic (seeded).
  tools/py tools/seg_shapes.py OUT_DIR   writes OUT_DIR/train.npz (512) and OUT_DIR/test.npz (128)"""
import os
import sys

import numpy as np


def sample(rng, size=32):
    x = rng.normal(0.0, 0.25, (3, size, size)).astype(np.float32)
    y = np.zeros((size, size), np.int64)
    rows, cols = np.mgrid[0:size, 0:size]
    for _ in range(rng.integers(1, 4)):
        kind = int(rng.integers(1, 3))
        r = int(rng.integers(4, 9))
        cy, cx = (int(v) for v in rng.integers(r, size - r, 2))
        if kind == 1:
            dist = np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2)
            inside, rim = dist <= r - 1, (dist > r - 1) & (dist <= r)
        else:
            dist = np.maximum(abs(rows - cy), abs(cols - cx))
            inside, rim = dist <= r - 1, dist == r
        colour = rng.normal(0.0, 0.2, 3).astype(np.float32) + (0.8 if kind == 1 else -0.8)
        x[:, inside | rim] += colour[:, None]
        y[inside] = kind
        y[rim] = -100
    return x, y


def make(rng, n):
    xs, ys = zip(*(sample(rng) for _ in range(n)))
    return np.stack(xs), np.stack(ys)


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    for name, n in (("train", 512), ("test", 128)):
        x, y = make(rng, n)
        np.savez(os.path.join(out, f"{name}.npz"), x=x, y=y)


if __name__ == "__main__":
    main(sys.argv[1])
