#!/usr/bin/python3
"""PyTorch's side of the transfer-learning check and benchmark (issue 3/6):
  pretrain OUT_DIR       train the CNN (Conv+BN+ReLU+MaxPool x2, Linear, Linear) on Fashion-MNIST
                         classes 0-4 and export OUT_DIR/pretrained.onnx (+ .pt for finetune)
  finetune OUT_DIR SEED [--no-test]
                         the same fine-tune onnxtrain does: convolutions frozen (BatchNorm in
                         eval mode), the last Linear replaced by a new 5-way one, Adam lr 1e-3,
                         20 epochs, batch 32, 100 training images per class of classes 5-9;
                         the frozen part is recomputed every step, as PyTorch users do.
                         Prints {"accuracy": ..., "seconds": ...} (test set, classes 5-9);
                         --no-test skips loading and scoring the test set (accuracy null).
Run with /usr/bin/python3 (Debian python3-torch); threads: OMP/torch default unless THREADS."""
import gzip, json, os, sys, time
import numpy as np
import torch
import torch.nn as nn

FM = "/usr/share/datasets/fashion-mnist/"


def idx(name):
    with gzip.open(FM + name, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


def subset(images, labels, classes, per_class=None):
    keep, seen = [], {c: 0 for c in classes}
    for i, label in enumerate(labels):
        if label in seen and (per_class is None or seen[label] < per_class):
            seen[label] += 1
            keep.append(i)
    x = torch.from_numpy(images[keep].astype(np.float32)[:, None] / 255.0)
    y = torch.tensor([classes.index(int(labels[i])) for i in keep])
    return x, y


def cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 5))


def pretrain(out):
    torch.manual_seed(0)
    x, y = subset(idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz"), [0, 1, 2, 3, 4])
    model = cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for epoch in range(2):
        for b in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    model.eval()
    os.makedirs(out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(out, "pretrained.pt"))
    export(model, out)


def export(model, out):
    # PRESERVE keeps BatchNormalization nodes (an eval-mode export would fold them into Conv).
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), os.path.join(out, "pretrained.onnx"), input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=13,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)


def finetune(out, seed, test=True):
    start = time.time()
    torch.manual_seed(seed)
    if os.environ.get("THREADS"):
        torch.set_num_threads(int(os.environ["THREADS"]))
    x, y = subset(idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz"), [5, 6, 7, 8, 9], 100)
    if test:
        tx, ty = subset(idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz"), [5, 6, 7, 8, 9])
    model = cnn()
    model.load_state_dict(torch.load(os.path.join(out, "pretrained.pt")))
    model[11] = nn.Linear(64, 5)  # the new head replaces the last Linear
    for layer in list(model)[:8]:  # convolutions and their BatchNorms: frozen, statistics kept
        for p in layer.parameters():
            p.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=1e-3)
    for epoch in range(20):
        model.train()
        for layer in list(model)[:8]:
            layer.eval()
        for b in torch.randperm(len(x)).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    model.eval()
    accuracy = None
    if test:
        with torch.no_grad():
            accuracy = (model(tx).argmax(1) == ty).float().mean().item()
    print(json.dumps({"accuracy": accuracy, "seconds": time.time() - start}))


if __name__ == "__main__":
    if sys.argv[1] == "pretrain":
        pretrain(sys.argv[2])
    else:
        finetune(sys.argv[2], int(sys.argv[3]), test="--no-test" not in sys.argv[4:])
