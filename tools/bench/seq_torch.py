"""The sequence-model benchmark rows' PyTorch side, and their models and data.
  python seq_torch.py export DIR          writes DIR/{transformer,lstm}.onnx and DIR/{..}_data.npz
  python seq_torch.py train DIR NAME [threads]
                                          10 AdamW steps of NAME as a whole process (load the
                                          data, build the model from the same weights, train)
transformer: a BERT-style classifier, token embedding (1000 x 256) + learned positions, 4
  nn.TransformerEncoderLayer(d_model 256, 4 heads, feed-forward 1024, dropout 0), mean pooling,
  Linear(256, 10); sequences of 128 tokens, batch 16.
lstm: token embedding (1000 x 256), nn.LSTM(256, 256, 2 layers), Linear(256, 10) on the last
  step; sequences of 64 tokens, batch 32.
Both train 10 steps of AdamW (lr 1e-3), softmax cross-entropy. Exported with Debian's PyTorch
1.13 (legacy exporter); every parameter gets its own noise so no two initializers are equal
(PyTorch 1.13 merges equal initializers in an eval-mode export, which would tie the layers)."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

VOCAB, CLASSES, STEPS = 1000, 10, 10
SHAPES = {"transformer": (16, 128), "lstm": (32, 64)}  # batch, sequence


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, 256)
        self.pos = nn.Embedding(128, 256)
        layer = nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.head = nn.Linear(256, CLASSES)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        h = self.encoder(self.tok(input_ids) + self.pos(positions))
        return self.head(h.mean(dim=1))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, 256)
        self.rnn = nn.LSTM(256, 256, num_layers=2, batch_first=True)
        self.head = nn.Linear(256, CLASSES)

    def forward(self, input_ids):
        y, _ = self.rnn(self.tok(input_ids))
        return self.head(y[:, -1])


def build(name):
    torch.manual_seed(0)
    model = Transformer() if name == "transformer" else Recurrent()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return model


def export(out):
    os.makedirs(out, exist_ok=True)
    for name, (batch, seq) in SHAPES.items():
        model = build(name).eval()
        rng = np.random.default_rng(1)
        n = batch * STEPS
        np.savez(os.path.join(out, f"{name}_data.npz"), input_ids=rng.integers(0, VOCAB, (n, seq)).astype(np.int64),
                 labels=rng.integers(0, CLASSES, n).astype(np.int64))
        torch.save(model.state_dict(), os.path.join(out, f"{name}.pt"))
        torch.onnx.export(model, torch.zeros(batch, seq, dtype=torch.int64), os.path.join(out, f"{name}.onnx"),
                          input_names=["input_ids"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"input_ids": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=False)


def train(out, name, threads):
    torch.set_num_threads(threads)
    batch, _ = SHAPES[name]
    data = np.load(os.path.join(out, f"{name}_data.npz"))
    ids, labels = torch.from_numpy(data["input_ids"]), torch.from_numpy(data["labels"])
    model = build(name)
    model.load_state_dict(torch.load(os.path.join(out, f"{name}.pt")))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for step in range(STEPS):
        b = slice(step * batch, (step + 1) * batch)
        opt.zero_grad()
        nn.functional.cross_entropy(model(ids[b]), labels[b]).backward()
        opt.step()


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        train(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
