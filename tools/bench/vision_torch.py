"""The vision benchmark rows' PyTorch side, and their models and data (issue 18/6).
  .deps/venv/bin/python vision_torch.py export DIR
        torch 2.x + torchvision: writes DIR/NAME.onnx (the training exports), DIR/NAME_w.npz (the
        same weights), DIR/NAME_data.npz (the same random data for both sides), DIR/vitb2.onnx
        (inference only) and DIR/flops.json (each row's multiply-adds per sample, frozen and
        trainable, and its onnxtrain settings)
  python vision_torch.py train DIR ROW THREADS [EPOCHS]
        PyTorch's side of ROW as a whole process (load data and weights, train, exit); prints
        {"trainable": parameters, "epoch_losses": [...], "seconds": ...}. Runs under torch 2.x
        and Debian's 1.13 alike: the models are defined here with torchvision's module names
        (export checks that torchvision's weights load strictly and give the same logits), so
        1.13 needs no torchvision.
Rows (the freeze point is onnxtrain's --freeze-upto name; PyTorch freezes the same modules with
requires_grad False and runs them in eval mode, so frozen BatchNorms use their statistics):
  r18_ft       ResNet18 at 112x112, 10 classes, conv1..layer3 frozen, layer4 + fc trained, SGD
               momentum 0.9 lr 0.01, batch 16, 20 steps (320 images, one epoch, file order)
  r18_ft10     the same over 10 epochs of 80 images (5 steps each: 20 steps an epoch would
               make PyTorch's plain loop alone 4 x 50 s of the bench); ours with --cache,
               PyTorch's plain loop
  r18_ft10_feat  the same, PyTorch computing the frozen features once (no_grad, eval) and
               training layer4 + fc on them (the Keras transfer-learning guide's way)
  r18_full     ResNet18 at 112x112 trained whole (BatchNorm in training mode), batch 16, 10 steps
  mbv2_ft      MobileNetV2 at 112x112, features.0-13 frozen, the last 4 inverted-residual
               blocks (14-17), the final 1x1 conv (18) and the classifier trained, SGD momentum
               lr 1e-3, batch 16, 20 steps; classifier dropout 0 on both sides (same computation)
  vit          ViT: image 64, patch 8, 4 pre-norm layers, dim 128, 4 heads, MLP 512, GELU, class
               token, trained whole, AdamW lr 1e-3 weight decay 0.01, batch 32, 10 steps
The data are learnable (each class adds its own fixed pattern to Gaussian noise), so the loss
falls on both sides."""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 10
# row: (model, image size, batch, steps per epoch, epochs, optimizer)
ROWS = {
    "r18_ft": ("resnet18", 112, 16, 20, 1, "momentum"),
    "r18_ft10": ("resnet18", 112, 16, 5, 10, "momentum"),
    "r18_ft10_feat": ("resnet18", 112, 16, 5, 10, "momentum"),
    "r18_full": ("resnet18", 112, 16, 10, 1, "momentum"),
    "mbv2_ft": ("mobilenet_v2", 112, 16, 20, 1, "momentum"),
    "vit": ("vit", 64, 32, 10, 1, "adamw"),
}
# onnxtrain's --freeze-upto for each row (None: trained whole) and PyTorch's frozen module prefixes
FREEZE = {
    "r18_ft": ("/layer3/layer3.1/relu_1/Relu", ("conv1", "bn1", "layer1", "layer2", "layer3")),
    "mbv2_ft": ("/features/features.13/Add", tuple(f"features.{i}" for i in range(14))),
}
# SGD's learning rate where not 0.01: at 0.01 MobileNetV2's loss rises on both sides (ReLU6, random init)
LR = {"mbv2_ft": 0.001}
FREEZE["r18_ft10"] = FREEZE["r18_ft10_feat"] = FREEZE["r18_ft"]


# ---- ResNet18 and MobileNetV2 with torchvision's module names (torchvision 0.29's definitions) ----
class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, inp = (64, 128, 256, 512), 64
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(inp, w, stride), BasicBlock(w, w, 1)))
            inp = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, CLASSES)

    def stem(self, x):  # the frozen part of the fine-tune rows
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))

    def top(self, x):
        return self.fc(torch.flatten(self.avgpool(self.layer4(x)), 1))

    def forward(self, x):
        return self.top(self.stem(x))


def conv_bn(inp, out, k=3, stride=1, groups=1):  # torchvision's Conv2dNormActivation (ReLU6)
    return nn.Sequential(nn.Conv2d(inp, out, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(out),
                         nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp, out, stride, expand):
        super().__init__()
        hidden = inp * expand
        layers = [conv_bn(inp, hidden, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and inp == out

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        features, inp = [conv_bn(3, 32, stride=2)], 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                           (6, 320, 1, 1)):
            for i in range(n):
                features.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        features.append(conv_bn(inp, 1280, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.0), nn.Linear(1280, CLASSES))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


# ---- ViT: explicit attention (the same graph under every exporter and both PyTorch versions) ----
class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        a = torch.softmax(q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5, dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(n, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, image=64, patch=8, layers=4, dim=128, heads=4, mlp=512):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(0.02 * torch.randn(1, 1, dim))
        self.pos = nn.Parameter(0.02 * torch.randn(1, (image // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, CLASSES)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


def build(name):
    torch.manual_seed(0)
    return {"resnet18": ResNet18, "mobilenet_v2": MobileNetV2, "vit": ViT}[name]()


def load(out, name):
    model = build(name)
    weights = np.load(os.path.join(out, f"{name}_w.npz"))
    model.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files}, strict=True)
    return model


# ---- export (torch 2.x with torchvision) ----
def macs(model, x, frozen=()):
    """Multiply-adds per sample of Conv2d/Linear (and the ViT's attention matmuls), split into
    (frozen, trainable) by module name prefix."""
    counts = {"frozen": 0, "trainable": 0}
    hooks = []
    for mname, m in model.named_modules():
        part = "frozen" if any(mname == p or mname.startswith(p + ".") for p in frozen) else "trainable"
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(lambda m, i, o, part=part: counts.__setitem__(
                part, counts[part] + o[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lambda m, i, o, part=part: counts.__setitem__(
                part, counts[part] + o[0].numel() * m.in_features)))
        elif isinstance(m, Attention):  # q k^T and a v: 2 t^2 d
            hooks.append(m.register_forward_hook(lambda m, i, o, part=part: counts.__setitem__(
                part, counts[part] + 2 * i[0].shape[1] ** 2 * i[0].shape[2])))
    with torch.no_grad():
        model.eval()(x[:1])
    for h in hooks:
        h.remove()
    return counts


def export_onnx(model, x, path, dynamic_hw=False):
    import inspect
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    axes = {0: "N", 2: "H", 3: "W"} if dynamic_hw else {0: "N"}
    # eval mode + PRESERVE keeps the BatchNormalization nodes (onnxtrain trains them in training
    # mode when they are trainable, in inference mode when frozen)
    torch.onnx.export(model.eval(), x, path, input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"input": axes, "logits": {0: "N"}}, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, **legacy)


def export(out):
    import torchvision.models as tvm
    os.makedirs(out, exist_ok=True)
    flops = {}
    for name, size in (("resnet18", 112), ("mobilenet_v2", 112), ("vit", 64)):
        model = build(name)
        if name != "vit":  # torchvision's initialisation, loaded strictly into the twin
            torch.manual_seed(0)
            tv = tvm.resnet18(num_classes=CLASSES) if name == "resnet18" else tvm.mobilenet_v2(num_classes=CLASSES)
            model.load_state_dict(tv.state_dict(), strict=True)
            x = torch.randn(2, 3, size, size)
            with torch.no_grad():
                assert torch.allclose(tv.eval()(x), model.eval()(x), atol=1e-4), name
        np.savez(os.path.join(out, f"{name}_w.npz"), **{k: v.numpy() for k, v in model.state_dict().items()})
        export_onnx(model, torch.zeros(1, 3, size, size), os.path.join(out, f"{name}.onnx"))
    for row, (name, size, batch, steps, epochs, opt) in ROWS.items():
        rng = np.random.default_rng(1)
        n = batch * steps
        y = rng.integers(0, CLASSES, n)
        pattern = rng.standard_normal((CLASSES, 3, size, size)).astype(np.float32)
        x = (rng.standard_normal((n, 3, size, size)).astype(np.float32) + pattern[y]).astype(np.float32)
        path = os.path.join(out, f"{name}_{size}_{n}_data.npz")
        if not os.path.exists(path):
            np.savez(path, x=x, y=y.astype(np.int64))
        freeze, frozen = FREEZE.get(row, (None, ()))
        flops[row] = {**macs(load(out, name), torch.from_numpy(x[:1]), frozen), "model": f"{name}.onnx", "data": path,
                      "freeze": freeze, "batch": batch, "epochs": epochs, "samples": n, "optimizer": opt,
                      "lr": 1e-3 if opt == "adamw" else LR.get(row, 0.01)}
    # inference only: a 2-layer encoder of ViT-B/16's width at 224 (patch 16, dim 768, 12 heads, MLP 3072)
    vitb = ViT(image=224, patch=16, layers=2, dim=768, heads=12, mlp=3072)
    export_onnx(vitb, torch.zeros(1, 3, 224, 224), os.path.join(out, "vitb2.onnx"))
    flops["vitb2_infer"] = macs(vitb, torch.zeros(1, 3, 224, 224))
    mbv2 = build("mobilenet_v2")
    flops["mbv2_infer"] = macs(mbv2, torch.zeros(1, 3, 224, 224))
    flops["r18_infer"] = macs(build("resnet18"), torch.zeros(1, 3, 224, 224))
    with open(os.path.join(out, "flops.json"), "w") as f:
        json.dump(flops, f, indent=1)


def data_path(out, row):
    name, size, batch, steps, _, _ = ROWS[row]
    return os.path.join(out, f"{name}_{size}_{batch * steps}_data.npz")


# ---- train (torch 2.x or 1.13) ----
def train(out, row, threads, epochs=None):
    start = time.time()
    torch.set_num_threads(threads)
    name, size, batch, steps, row_epochs, opt_name = ROWS[row]
    epochs = epochs or row_epochs
    data = np.load(data_path(out, row))
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    model = load(out, name)
    frozen_prefixes = FREEZE.get(row, (None, ()))[1]
    frozen = [m for n, m in model.named_children() if n in frozen_prefixes]
    if name == "mobilenet_v2":
        frozen = [model.features[i] for i in range(14)] if frozen_prefixes else []
    for m in frozen:
        for p in m.parameters():
            p.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    if opt_name == "adamw":
        opt = torch.optim.AdamW(trainable, lr=1e-3, weight_decay=0.01)
    else:
        opt = torch.optim.SGD(trainable, lr=LR.get(row, 0.01), momentum=0.9)
    forward = model
    if row == "r18_ft10_feat":  # the frozen features once, then train the top on them
        model.eval()
        with torch.no_grad():
            x = torch.cat([model.stem(x[b:b + batch]) for b in range(0, len(x), batch)])
        forward = model.top
    losses = []
    for epoch in range(epochs):
        model.train()
        for m in frozen:
            m.eval()
        total = 0.0
        for b in range(0, len(x), batch):  # file order, as onnxtrain's --no-shuffle
            opt.zero_grad()
            loss = F.cross_entropy(forward(x[b:b + batch]), y[b:b + batch])
            loss.backward()
            opt.step()
            total += loss.item() * len(x[b:b + batch])
        losses.append(total / len(x))
    print(json.dumps({"trainable": sum(p.numel() for p in trainable), "epoch_losses": losses,
                      "seconds": time.time() - start}))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        train(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else None)
