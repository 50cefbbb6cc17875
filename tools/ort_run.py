#!/usr/bin/env python3
"""Runs an ONNX model with ONNX Runtime (the PyPI `onnxruntime` package that tools/setup.sh
installs into .deps/venv) on .npy inputs and writes every output as OUTDIR/<name>.npy: the
client our users run exported models with, used by the tests to check what we export.
  tools/py tools/ort_run.py MODEL.onnx OUTDIR NAME=FILE.npy [NAME=FILE.npy ...]
A sequence is a folder of its elements, as `onnxtrain run` reads and writes them: NAME=FOLDER
holding 0.npy, 1.npy, ..., and a sequence output as OUTDIR/<name>/0.npy, ...
ORT_THREADS sets the intra-op thread count; ORT_REPEAT=N runs N times and prints
{"ms_per_run": ...} (the benchmark's timing)."""
import json
import os
import re
import sys
import time

import numpy as np
import onnxruntime as ort


def session(model):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if os.environ.get("ORT_THREADS"):
        options.intra_op_num_threads = int(os.environ["ORT_THREADS"])
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def load(path):
    """A .npy file, or a folder's 0.npy, 1.npy, ... as a list (a sequence)."""
    if not os.path.isdir(path):
        return np.load(path)
    elements = []
    while os.path.exists(os.path.join(path, f"{len(elements)}.npy")):
        elements.append(np.load(os.path.join(path, f"{len(elements)}.npy")))
    return elements


def save(out_dir, name, value):
    path = os.path.join(out_dir, re.sub(r"[/\\:]", "_", name))
    if not isinstance(value, list):
        np.save(path + ".npy", value)
        return
    os.makedirs(path, exist_ok=True)
    for k, element in enumerate(value):
        np.save(os.path.join(path, f"{k}.npy"), element)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    model, out_dir, specs = argv[0], argv[1], argv[2:]
    sess = session(model)
    feeds = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        feeds[name] = load(path)
    repeat = int(os.environ.get("ORT_REPEAT", "1"))
    start = time.perf_counter()
    for _ in range(repeat):
        results = sess.run(None, feeds)
    ms = (time.perf_counter() - start) * 1e3 / repeat
    os.makedirs(out_dir, exist_ok=True)
    for meta, value in zip(sess.get_outputs(), results):
        save(out_dir, meta.name, value)
    if "ORT_REPEAT" in os.environ:
        print(json.dumps({"ms_per_run": ms}))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as e:  # one line naming what failed, as our own tools do
        sys.exit(f"ort_run: {e}")
