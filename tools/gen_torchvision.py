#!/usr/bin/env python3
"""Exports torchvision classifiers and segmentation models to ONNX at several opsets for the engine's acceptance check
(tools/check_torchvision.sh). Weights are torchvision's random initialisation with a fixed seed
(no downloads here); BatchNorm statistics are perturbed so that they matter. Writes
OUTDIR/<model>_op<opset>.onnx and OUTDIR/<model>_input.npy. Large: not committed.
Run: tools/py tools/gen_torchvision.py OUTDIR [model ...] (torch and torchvision from PyPI,
tools/bench/requirements.txt). PyTorch 2.9+ exports through torch.export by default; the
TorchScript exporter (dynamo=False) is the one that writes every opset listed here."""
import inspect
import os
import sys
import numpy as np
import torch
import torchvision.models as tvm
import torchvision.models.segmentation as tvs


class MainOutput(torch.nn.Module):
    """Segmentation models return {"out": ..., "aux": ...}; the export keeps "out"."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


MODELS = {
    "resnet18": lambda: tvm.resnet18(),
    "mobilenet_v2": lambda: tvm.mobilenet_v2(),
    "squeezenet1_1": lambda: tvm.squeezenet1_1(),
    "densenet121": lambda: tvm.densenet121(),
    "googlenet": lambda: tvm.googlenet(aux_logits=False, init_weights=True),
    "efficientnet_b0": lambda: tvm.efficientnet_b0(),
    "shufflenet_v2": lambda: tvm.shufflenet_v2_x1_0(),
    "convnext_tiny": lambda: tvm.convnext_tiny(),
    "lraspp_mobilenet_v3": lambda: MainOutput(tvs.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)),
    "deeplabv3_mobilenet_v3": lambda: MainOutput(tvs.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                                 aux_loss=False)),
}
OPSETS = [9, 11, 13, 17]
# Bilinear upsampling with align_corners=False needs opset 11's Resize.
MODEL_OPSETS = {"lraspp_mobilenet_v3": [11, 13, 17], "deeplabv3_mobilenet_v3": [11, 13, 17]}
LEGACY = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    for name in names:
        torch.manual_seed(0)
        model = MODELS[name]().eval()
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 1.5)
        x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        np.save(os.path.join(out, f"{name}_input.npy"), x.numpy())
        for opset in MODEL_OPSETS.get(name, OPSETS):
            path = os.path.join(out, f"{name}_op{opset}.onnx")
            if os.path.exists(path):
                continue
            try:
                torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **LEGACY)
            except Exception as e:  # shufflenet's chunk needs a known batch size to export
                print(f"{name} opset {opset}: dynamic batch not exportable ({type(e).__name__}); exporting batch 1")
                torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                                  **LEGACY)
            print("wrote", path, flush=True)


if __name__ == "__main__":
    main()
