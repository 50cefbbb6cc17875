#!/usr/bin/env python3
"""Scores a segmentation model (logits N x C x H x W) with ONNX Runtime on an npz of x and
per-pixel labels y (N x H x W; -100 ignored): per-pixel accuracy and mean IoU over the classes
present, as `onnxtrain eval` computes them.
  tools/py tools/ort_segmentation.py MODEL.onnx DATA.npz   prints {"accuracy", "mean_iou", "samples"}"""
import json
import sys

import numpy as np
import onnxruntime as ort


def main(model, data):
    d = np.load(data)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    pred = session.run(None, {session.get_inputs()[0].name: d["x"]})[0].argmax(1)
    y = d["y"]
    kept = y != -100
    ious = []
    for c in range(int(max(pred.max(), y.max())) + 1):
        union = (((pred == c) | (y == c)) & kept).sum()
        if union:
            ious.append((((pred == c) & (y == c)) & kept).sum() / union)
    print(json.dumps({"accuracy": round(float((pred == y)[kept].mean()), 4),
                      "mean_iou": round(float(np.mean(ious)), 4), "samples": int(len(y))}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
