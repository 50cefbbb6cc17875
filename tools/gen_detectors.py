#!/usr/bin/env python3
"""Exports torchvision detectors for tools/check_detectors.sh: SSDlite320-MobileNetV3 (opsets 11,
13) and Faster R-CNN MobileNetV3-Large-320-FPN (opset 11), random weights (no downloads here), a
low score threshold so that hundreds of boxes reach NonMaxSuppression. Each model takes one
3 x 320 x 320 image as a batch of one and returns boxes, scores and labels. Writes
OUTDIR/<model>_op<opset>.onnx and OUTDIR/<model>_input.npy; large, not committed.
Run: tools/py tools/gen_detectors.py OUTDIR (torch and torchvision from PyPI,
tools/bench/requirements.txt), with the TorchScript exporter (dynamo=False)."""
import inspect
import os
import sys
import numpy as np
import torch
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn, ssdlite320_mobilenet_v3_large

MODELS = {
    "ssdlite": (lambda: ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, score_thresh=1e-4), [11, 13]),
    "fasterrcnn": (lambda: fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None,
                                                                 box_score_thresh=1e-4), [11]),
}
LEGACY = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


class FirstImage(torch.nn.Module):
    """torchvision detectors take a list of images and return a list of dicts."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        out = self.model([images[0]])[0]
        return out["boxes"], out["scores"], out["labels"]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (make, opsets) in MODELS.items():
        torch.manual_seed(0)
        model = FirstImage(make().eval())
        x = torch.rand(1, 3, 320, 320, generator=torch.Generator().manual_seed(1))
        np.save(os.path.join(out, f"{name}_input.npy"), x.numpy())
        for opset in opsets:
            path = os.path.join(out, f"{name}_op{opset}.onnx")
            if not os.path.exists(path):
                torch.onnx.export(model, (x,), path, opset_version=opset, input_names=["images"],
                                  output_names=["boxes", "scores", "labels"], **LEGACY)
            print("wrote", path, flush=True)


if __name__ == "__main__":
    main()
