#!/usr/bin/env python3
"""Acceptance check for `onnxtrain convert` weights import/export, against ONNX Runtime:
 1. each weights file of tests/fixtures/weights (PyTorch state_dict, nested checkpoint, numpy
    .npz, safetensors, Keras 2 .h5 in both layouts) converted with --strict into the zeroed
    architecture cnn_zero.onnx gives ONNX Runtime outputs equal to PyTorch's (output.npy)
    within 1e-5; the zeroed model itself must NOT (so the check can fail);
 2. cnn.onnx -> .npz / .safetensors -> --arch cnn_zero.onnx gives the same outputs, and the
    written files are read back by numpy.load and by a reader written here from the
    safetensors spec, equal to the initializers as the onnx package reads them.
  tools/py tools/check_weights_ort.py [BUILD_DIR]      (default: build)"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "weights")
TOLERANCE = 1e-5
failures = 0


def fx(name):
    return os.path.join(FIXTURES, name)


def run(cli, *args):
    r = subprocess.run([cli, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"onnxtrain {' '.join(args)} exited {r.returncode}: {r.stderr}")


def max_diff(model, x, expected):
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    if out.shape != expected.shape:
        raise RuntimeError(f"{model}: output shape {out.shape}, expected {expected.shape}")
    return float(np.abs(out - expected).max())


def report(label, ok, detail):
    global failures
    print(f"{'ok  ' if ok else 'FAIL'} {label}: {detail}")
    failures += not ok


def read_safetensors_by_spec(path):
    """u64 LE header size, JSON, offsets relative to the data, tensors tiling the data
    exactly, header padded with spaces to 8 bytes."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0 and n <= len(raw) - 8, "header size"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    assert list(header) == sorted(header), "keys not sorted"
    spans = sorted(tuple(h["data_offsets"]) for h in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data), "data not covered"
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "not contiguous"
    codes = {"F32": np.float32, "I64": np.int64}
    return {k: np.frombuffer(data[h["data_offsets"][0]:h["data_offsets"][1]],
                             dtype=codes[h["dtype"]]).reshape(h["shape"])
            for k, h in header.items()}


def check_files_read_back(npz, st):
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(fx("cnn.onnx")).graph.initializer}
    z = np.load(npz)
    problems = []
    if sorted(z.keys()) != sorted(inits):
        problems.append(f"npz names {sorted(z.keys())}")
    tensors = read_safetensors_by_spec(st)
    for name, value in inits.items():
        for label, got in (("npz", z.get(name)), ("safetensors", tensors.get(name))):
            if got is None or got.dtype != value.dtype or got.shape != value.shape or not np.array_equal(got, value):
                problems.append(f"{label} {name}")
    report("numpy.load and a spec-written safetensors reader read our files", not problems,
           "; ".join(problems) or f"{len(inits)} tensors equal to the ONNX initializers")


def main(argv):
    build = os.path.abspath(argv[0] if argv else os.path.join(ROOT, "build"))
    cli = os.path.join(build, "onnxtrain")
    if not os.path.exists(cli):
        raise RuntimeError(f"{cli} not found (build first, or pass BUILD_DIR)")
    x, expected = np.load(fx("input.npy")), np.load(fx("output.npy"))
    zero = max_diff(fx("cnn_zero.onnx"), x, expected)
    report("zeroed architecture differs from PyTorch", zero > 1e-3, f"max |diff| {zero:.3e}")
    with tempfile.TemporaryDirectory(prefix="onnxtrain-weights-") as tmp:
        for source in ["cnn_state.pt", "cnn_nested.pt", "cnn.npz", "cnn.safetensors", "cnn_keras.h5",
                       "cnn_keras_weights.h5"]:
            out = os.path.join(tmp, source + ".onnx")
            run(cli, "convert", fx(source), "--arch", fx("cnn_zero.onnx"), "-o", out, "--strict")
            diff = max_diff(out, x, expected)
            report(f"{source} -> cnn_zero.onnx", diff <= TOLERANCE, f"max |diff| vs PyTorch {diff:.3e}")
        npz, st = os.path.join(tmp, "cnn.npz"), os.path.join(tmp, "cnn.safetensors")
        run(cli, "convert", fx("cnn.onnx"), "-o", npz)
        run(cli, "convert", fx("cnn.onnx"), "-o", st)
        for path in (npz, st):
            out = path + ".onnx"
            run(cli, "convert", path, "--arch", fx("cnn_zero.onnx"), "-o", out, "--strict")
            diff = max_diff(out, x, expected)
            report(f"cnn.onnx -> {os.path.basename(path)} -> onnx", diff <= TOLERANCE,
                   f"max |diff| vs PyTorch {diff:.3e}")
        check_files_read_back(npz, st)
    print(f"{failures} check(s) failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:
        sys.exit(f"check_weights_ort: {e}")
