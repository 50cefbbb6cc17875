#!/usr/bin/env python3
"""onnxtrain against PyTorch (and ONNX Runtime for inference), whole processes, alternately in
the same run. Two PyTorch columns: 2.x from PyPI (what users install today, .deps/venv) and
Debian's python3-torch 1.13. Prints a table: workload, our time, each of theirs and the ratio,
peak memory of each, and the GFLOP/s each workload achieves against the machine's sgemm.
  tools/bench/run.sh [--repeat N] [--only NAME,...]
Workloads (PyTorch's side of the training ones is torch_epoch.py and finetune_torch.py):
  mlp_epoch      one epoch of the 784-300-100-10 ELU MLP, Adam, batch 64, on Fashion-MNIST
  cnn_200_steps  200 steps of the LeNet-style CNN (conv5x5x32, pool, conv5x5x64, pool, 128, 10)
  finetune_cache / finetune_nocache
                 the frozen-convolution fine-tune of tools/check_finetune.sh, with and without
                 --cache, against PyTorch recomputing the frozen part every step; both score
                 the 5000 test images at the end
  finetune_cache_train / finetune_nocache_train
                 the same without the test scoring (training only: data, cache, 20 epochs,
                 export), where the cache's share of the work shows
  transformer_10_steps
                 10 AdamW steps of a BERT-style classifier: 4 encoder layers, d 256, 4 heads,
                 sequence 128, batch 16 (seq_torch.py builds it and is PyTorch's side)
  lstm_10_steps  10 AdamW steps of a 2-layer LSTM classifier, hidden 256, sequence 64, batch 32
  finetune_rerun the finetune_cache run again with the caches of the previous run (train and
                 test features reused: a new head or new hyperparameters on the same data)
  r18_ft_20_steps / r18_full_10_steps / mbv2_ft_20_steps / vit_10_steps
                 torchvision ResNet18 at 112x112 with layer4 + fc trained (the rest frozen, in
                 inference mode), SGD momentum, batch 16, 20 steps; the same ResNet18 trained whole
                 (BatchNorm in training mode), 10 steps; MobileNetV2 at 112x112 with its last 4
                 blocks + classifier trained, 20 steps; a ViT (image 64, patch 8, 4 layers, dim 128,
                 4 heads, MLP 512) trained whole, AdamW, batch 32, 10 steps. vision_torch.py exports
                 the models with torch 2.x, writes the data both sides read, and is PyTorch's side
  r18_ft_10_epochs_cache / r18_ft_10_epochs_feat
                 the ResNet18 fine-tune over 10 epochs (of 80 images), ours with --cache, against
                 PyTorch's plain loop / against PyTorch computing the frozen features once by hand
                 and training layer4 + fc on them
  mbv2_infer / vitb2_infer
                 MobileNetV2, and a 2-layer encoder of ViT-B/16's width (patch 16, dim 768, 12
                 heads), inference at batch 8 x 3 x 224 x 224, against ONNX Runtime
  resnet18_infer resnet18 inference, batch 8 x 3 x 224 x 224, against ONNX Runtime
  resnet18_infer_fast
                 the same with --fast-conv (F(4x4,3x3) instead of the default F(2x2,3x3))
  ranks_mlp_epoch / ranks_resnet18_finetune
                 data parallelism on this machine: 2 ranks x 1 thread (mpirun -np 2, --batch 32 / 8
                 each) against 1 process x 2 threads (--batch 64 / 16): the mlp_epoch run, and 4
                 steps of ResNet18 with layer4 and a new 5-way head trained (8.4 M parameters, 34
                 MB allreduced a step) on 64 random 224 x 224 images; without MPI these are skipped
PyTorch runs at its best thread count (1 and 2 tried in the first repeat, the faster kept for
the rest); ONNX Runtime at its default (all cores). --check runs the vision training rows for 3
epochs on both sides instead and prints the trained parameter counts and the loss of each epoch
(both sides must train the same parameters, and the loss must fall on each)."""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OT = os.path.join(ROOT, "build", "onnxtrain")
TORCH_EPOCH = os.path.join(ROOT, "tools", "bench", "torch_epoch.py")
FINETUNE_TORCH = os.path.join(ROOT, "tools", "bench", "finetune_torch.py")
SEQ_TORCH = os.path.join(ROOT, "tools", "bench", "seq_torch.py")
VISION_TORCH = os.path.join(ROOT, "tools", "bench", "vision_torch.py")
VENV_PY = os.path.join(ROOT, ".deps", "venv", "bin", "python")  # torch 2.x, torchvision, onnxruntime
DEBIAN_PY = "/usr/bin/python3"  # Debian's python3-torch 1.13
TORCHES = (("2.x", VENV_PY), ("1.13", DEBIAN_PY))


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time; returns (seconds, peak MiB, stdout). The wall time is
    measured here (time's %e has 10 ms steps, 5% of the cached fine-tune)."""
    full = ["/usr/bin/time", "-f", "TIME %e %M"] + cmd
    start = time.perf_counter()
    p = subprocess.run(full, capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    m = re.search(r"TIME ([0-9.]+) ([0-9]+)", p.stderr)
    return wall, int(m.group(2)) / 1024.0, p.stdout


def setup(work):
    specs = {
        "mlp": "flatten,dense:300:elu,dense:100:elu,dense:10",
        "cnn": "conv:32:5x5:1:2:relu,maxpool:2,conv:64:5x5:1:2:relu,maxpool:2,flatten,dense:128:relu,dense:10",
    }
    for name, spec in specs.items():
        subprocess.run([OT, "new", spec, "--input", "x:1x28x28", "--seed", "0", "-o", f"{work}/{name}.onnx"], check=True)
    ft = os.path.join(work, "finetune")
    if not os.path.exists(os.path.join(ft, "pretrained.onnx")):
        subprocess.run([DEBIAN_PY, FINETUNE_TORCH, "pretrain", ft], check=True)
    tv = os.path.join(work, "tv")
    subprocess.run([VENV_PY, os.path.join(ROOT, "tools", "gen_torchvision.py"), tv, "resnet18"], check=True,
                   capture_output=True)
    seq = os.path.join(work, "seq")
    if not os.path.exists(os.path.join(seq, "lstm.onnx")):
        subprocess.run([DEBIAN_PY, SEQ_TORCH, "export", seq], check=True, capture_output=True)
    subprocess.run([VENV_PY, os.path.join(ROOT, "tools", "gen_torchvision.py"), tv, "mobilenet_v2"], check=True,
                   capture_output=True)
    vision = os.path.join(work, "vision")
    subprocess.run([VENV_PY, VISION_TORCH, "export", vision], check=True, capture_output=True)
    import numpy as np
    np.save(os.path.join(work, "x8.npy"), np.random.default_rng(0).standard_normal((8, 3, 224, 224)).astype(np.float32))
    return ft, tv, seq, vision


def flops_mlp(samples):  # multiply-adds x 2, forward + 2x backward
    return 3 * 2 * samples * (784 * 300 + 300 * 100 + 100 * 10)


def flops_cnn(samples):
    conv1 = 28 * 28 * 32 * 25
    conv2 = 14 * 14 * 64 * 32 * 25
    dense = 3136 * 128 + 128 * 10
    return 3 * 2 * samples * (conv1 + conv2 + dense)


# bench row: vision_torch.py row, --cache (built in every timed run)
VISION_ROWS = {"r18_ft_20_steps": ("r18_ft", False), "r18_full_10_steps": ("r18_full", False),
               "mbv2_ft_20_steps": ("mbv2_ft", False), "vit_10_steps": ("vit", False),
               "r18_ft_10_epochs_cache": ("r18_ft10", True), "r18_ft_10_epochs_feat": ("r18_ft10_feat", True)}


def vision_workloads(work, vision):
    """name: (our command, PyTorch's command(py, threads), FLOPs, cache dir or None)."""
    with open(os.path.join(vision, "flops.json")) as f:
        info = json.load(f)
    workloads = {}
    for name, (vrow, cache) in VISION_ROWS.items():
        r = info[vrow]
        cmd = [OT, "train", os.path.join(vision, r["model"]), "--data", f"npz:{r['data']}", "--optimizer", r["optimizer"],
               "--lr", str(r["lr"]), "--batch", str(r["batch"]), "--epochs",
               str(r["epochs"]), "--no-shuffle", "-o", f"{work}/{name}_out.onnx"]
        if r["freeze"]:
            cmd += ["--freeze-upto", r["freeze"]]
        cache_dir = f"{work}/{name}_cache" if cache else None
        if cache_dir:
            cmd += ["--cache", cache_dir]
        # the frozen part forward only (once with the cache), the trained part forward + backward (2x)
        passes = 1 if cache else r["epochs"]
        flops = 2 * r["samples"] * (passes * r["frozen"] + 3 * r["epochs"] * r["trainable"])
        workloads[name] = (cmd, lambda py, t, vrow=vrow: [py, VISION_TORCH, "train", vision, vrow, str(t)], flops, cache_dir)
    return workloads, info


def check_vision(work, vision, only):
    """Both sides of each vision training row for 3 epochs: trained parameter counts and epoch losses."""
    workloads, _ = vision_workloads(work, vision)
    ok = True
    for name, (cmd, theirs, _, cache_dir) in workloads.items():
        if only and name not in only:
            continue
        if cache_dir:
            subprocess.run(["rm", "-rf", cache_dir])
        cmd = [c for c in cmd] + ["--epochs", "3", "--log", f"{work}/{name}_check.csv"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        m = re.search(r"(\d+) trained \((\d+) parameters\)", p.stdout)
        ours = (int(m.group(2)) if m else None, [float(x) for x in re.findall(r"loss ([0-9.]+)", p.stdout)])
        sides = {"onnxtrain": ours}
        for label, py in TORCHES:
            q = subprocess.run(theirs(py, 2) + ["3"], capture_output=True, text=True)
            out = json.loads(q.stdout.strip().splitlines()[-1]) if q.returncode == 0 else {}
            sides[f"torch {label}"] = (out.get("trainable"), out.get("epoch_losses", []))
        counts = {c for c, _ in sides.values()}
        falls = all(len(l) == 3 and l[-1] < l[0] for _, l in sides.values())
        good = len(counts) == 1 and None not in counts and falls
        ok &= good
        print(f"{name:24} {'ok' if good else 'MISMATCH'}: " + "; ".join(
            f"{side} {c} trained, losses {' '.join(f'{x:.4f}' for x in l)}" for side, (c, l) in sides.items()))
    return ok


def row(name, ours, theirs, flops):
    """(name, our median s, our peak MiB, {label: (median s, peak MiB)}, GFLOP/s or None)."""
    o = statistics.median(x[0] for x in ours)
    summary = {label: (statistics.median(x[0] for x in runs), max(x[1] for x in runs)) for label, runs in theirs.items()}
    return name, o, max(x[1] for x in ours), summary, flops / o / 1e9 if flops else None


def versions():
    found = []
    for label, py in TORCHES:
        v = subprocess.run([py, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
        found.append(f"PyTorch {v.stdout.strip() or 'missing'} ({py})")
    v = subprocess.run([VENV_PY, "-c", "import onnxruntime; print(onnxruntime.__version__)"], capture_output=True, text=True)
    found.append(f"ONNX Runtime {v.stdout.strip() or 'missing'}")
    return "; ".join(found)


# Shared memory with cross-memory attach (4x faster than copying through the shared segment
# for 34 MB blocks here; containers that refuse it need btl_vader_single_copy_mechanism none).
MPIRUN = ["mpirun", "--allow-run-as-root", "--mca", "btl", "self,vader", "-np", "2", "-x", "OPENBLAS_NUM_THREADS"]


def ranks_rows(work, tv, repeat, only):
    """2 ranks x 1 thread against 1 process x 2 threads: (name, process s, ranks s) medians."""
    if subprocess.run(["sh", "-c", f"ldd {OT} | grep -q libmpi"]).returncode:
        return []
    import numpy as np
    data = f"{work}/r18_data.npz"
    if not os.path.exists(data):
        rng = np.random.default_rng(0)
        np.savez(data, x=rng.standard_normal((64, 3, 224, 224)).astype(np.float32), y=np.arange(64) % 5)
    mlp = [OT, "train", f"{work}/mlp.onnx", "--data", "fashion-mnist:train", "--epochs", "1", "--optimizer", "adam",
           "-q", "-o", f"{work}/mlp_ranks.onnx"]
    r18 = [OT, "train", f"{tv}/resnet18_op17.onnx", "--data", f"npz:{data}", "--freeze-upto",
           "/layer3/layer3.1/relu_1/Relu", "--cut", "/Flatten", "--head", "dense:5", "--optimizer", "sgd", "--epochs", "1",
           "-q", "-o", f"{work}/r18_ranks.onnx"]
    rows = []
    for name, cmd, batch in (("ranks_mlp_epoch", mlp, 64), ("ranks_resnet18_finetune", r18, 16)):
        if only and name not in only:
            continue
        one, two = [], []
        for r in range(repeat):
            one.append(timed(cmd + ["--batch", str(batch)], {"OPENBLAS_NUM_THREADS": "2"})[0])
            two.append(timed(MPIRUN + cmd + ["--batch", str(batch // 2)], {"OPENBLAS_NUM_THREADS": "1"})[0])
        rows.append((name, statistics.median(one), statistics.median(two)))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    work = os.environ.get("BENCH_DIR", os.path.join(tempfile.gettempdir(), "onnxtrain-bench"))
    os.makedirs(work, exist_ok=True)
    ft, tv, seq, vision = setup(work)
    gemm = os.path.join(work, "sgemm_gflops")
    subprocess.run(["cc", "-O2", os.path.join(ROOT, "tools", "bench", "sgemm_gflops.c"), "-o", gemm] +
                   subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], capture_output=True, text=True).stdout.split(),
                   check=True)
    only = set(filter(None, args.only.split(",")))
    if args.check:
        sys.exit(0 if check_vision(work, vision, only) else 1)
    peak = json.loads(subprocess.run([gemm], capture_output=True, text=True, check=True).stdout)["gflops"]
    FM = "/usr/share/datasets/fashion-mnist/"
    finetune_train = [OT, "train", f"{ft}/pretrained.onnx", "--data", "fashion-mnist:train", "--classes", "5-9",
                      "--per-class", "100", "--freeze-upto", "/8/Flatten", "--cut", "/10/Relu", "--head", "dense:5",
                      "--optimizer", "adam", "--lr", "1e-3", "--epochs", "20", "--batch", "32", "-q", "-o",
                      f"{work}/ft_out.onnx"]
    finetune = finetune_train + ["--test", "fashion-mnist:test"]
    torch_ft = lambda py: [py, FINETUNE_TORCH, "finetune", ft, "1"]
    cache_dir = f"{work}/ft_cache"
    rerun_dir = f"{work}/ft_rerun_cache"
    workloads = {
        "mlp_epoch": ([OT, "train", f"{work}/mlp.onnx", "--data", "fashion-mnist:train", "--epochs", "1",
                       "--batch", "64", "--optimizer", "adam", "-q", "-o", f"{work}/mlp_out.onnx"],
                      lambda py, t: [py, TORCH_EPOCH, "mlp", str(t)], flops_mlp(60000)),
        "cnn_200_steps": ([OT, "train", f"{work}/cnn.onnx", "--data", "fashion-mnist:train", "--limit", "12800",
                           "--epochs", "1", "--batch", "64", "--optimizer", "adam", "-q", "-o", f"{work}/cnn_out.onnx"],
                          lambda py, t: [py, TORCH_EPOCH, "cnn", str(t), "200"], flops_cnn(12800)),
        "finetune_cache": (finetune + ["--cache", cache_dir], lambda py, t: torch_ft(py), None),
        "finetune_nocache": (finetune, lambda py, t: torch_ft(py), None),
        "finetune_cache_train": (finetune_train + ["--cache", cache_dir], lambda py, t: torch_ft(py) + ["--no-test"], None),
        "finetune_nocache_train": (finetune_train, lambda py, t: torch_ft(py) + ["--no-test"], None),
        "finetune_rerun": (finetune + ["--cache", rerun_dir], lambda py, t: torch_ft(py), None),
    }
    for name, batch in (("transformer", 16), ("lstm", 32)):
        workloads[f"{name}_10_steps"] = (
            [OT, "train", f"{seq}/{name}.onnx", "--data", f"npz:{seq}/{name}_data.npz:x=input_ids,y=labels",
             "--optimizer", "adamw", "--lr", "1e-3", "--batch", str(batch), "--epochs", "1", "--no-shuffle", "-q",
             "-o", f"{work}/{name}_out.onnx"],
            lambda py, t, name=name: [py, SEQ_TORCH, "train", seq, name, str(t)], None)
    workloads = {name: w + (None,) for name, w in workloads.items()}
    vision_rows, vision_info = vision_workloads(work, vision)
    workloads.update(vision_rows)
    rows = []
    for name, (ours_cmd, theirs_cmd, flops, vision_cache) in workloads.items():
        if only and name not in only:
            continue
        if name in VISION_ROWS:
            ours_cmd = ours_cmd + ["-q"]
        ours, theirs = [], {label: [] for label, _ in TORCHES}
        best = {}  # PyTorch's faster thread count, found in the first repeat
        if name == "finetune_rerun":  # the first run builds the caches, untimed
            subprocess.run(["rm", "-rf", rerun_dir])
            timed(ours_cmd)
        for r in range(args.repeat):
            if name.startswith("finetune_cache"):
                subprocess.run(["rm", "-rf", cache_dir])  # the cache is built in every timed run
            if vision_cache:
                subprocess.run(["rm", "-rf", vision_cache])
            ours.append(timed(ours_cmd))
            for label, py in TORCHES:
                runs = [(timed(theirs_cmd(py, threads), {"THREADS": str(threads)}), threads)
                        for threads in ([best[label]] if label in best else (1, 2))]
                result, best[label] = min(runs, key=lambda run: run[0][0])
                theirs[label].append(result)
        rows.append(row(name, ours, theirs, flops))
    infer = (("resnet18_infer", f"{tv}/resnet18_op17.onnx", [], 1.82e9),
             ("resnet18_infer_fast", f"{tv}/resnet18_op17.onnx", ["--fast-conv"], 1.82e9),
             ("mbv2_infer", f"{tv}/mobilenet_v2_op17.onnx", [], vision_info["mbv2_infer"]["trainable"]),
             ("vitb2_infer", f"{vision}/vitb2.onnx", [], vision_info["vitb2_infer"]["trainable"]))
    for name, model, extra, macs in infer:
        if only and name not in only:
            continue
        ours, theirs = [], {"ORT": []}
        for r in range(args.repeat):
            sec, mem, out = timed([OT, "run", model, "-i", f"input={work}/x8.npy", "-o", f"{work}/r18", "--repeat", "5"] + extra)
            ours.append((json.loads(out)["ms_per_run"] / 1000, mem))
            sec, mem, out = timed([VENV_PY, os.path.join(ROOT, "tools", "ort_run.py"), model, f"{work}/r18o",
                                   f"input={work}/x8.npy"], {"ORT_REPEAT": "5"})
            theirs["ORT"].append((json.loads(out.strip().splitlines()[-1])["ms_per_run"] / 1000, mem))
        rows.append(row(name, ours, theirs, 8 * 2 * macs))
    print(f"machine sgemm (OpenBLAS, {os.environ.get('OPENBLAS_CORETYPE', 'auto')} kernels): {peak:.1f} GFLOP/s")
    print(versions())
    print(f"{'workload':24} {'ours s':>7} {'torch 2.x / ORT':>16} {'ratio':>6} {'torch 1.13':>10} {'ratio':>6} "
          f"{'our MiB':>8} {'their MiB':>13} {'mem':>5} {'GFLOP/s':>8} {'of peak':>7}")
    for name, o, om, theirs, gf in rows:
        cells = [f"{t:9.2f} s {t / o:5.1f}x" for t, _ in theirs.values()]
        cells += [f"{'':10} {'':6}"] * (2 - len(cells))
        mems = "/".join(f"{m:.0f}" for _, m in theirs.values())
        g = f"{gf:8.1f} {100 * gf / peak:6.0f}%" if gf else f"{'':8} {'':7}"
        mem_ratio = om / next(iter(theirs.values()))[1]
        print(f"{name:24} {o:7.2f} {cells[0]:>23} {cells[1]:>17} {om:8.0f} {mems:>13} {mem_ratio:5.2f} {g}")
    print("ratio = their time / ours (higher is better for us); theirs = PyTorch, or ONNX Runtime for *_infer;")
    print("their MiB in the same order; mem = our peak / PyTorch 2.x's (ORT's). GFLOP/s are ours: the whole process")
    print("for training rows (frozen layers forward only, once with --cache), one run for inference. They count")
    print("the direct convolution's multiply-adds; Winograd and FFT convs do fewer, so rows can exceed the sgemm peak")
    for name, one, two in ranks_rows(work, tv, args.repeat, only):
        print(f"{name:26} 1 process x 2 threads {one:6.2f} s, 2 ranks x 1 thread {two:6.2f} s ({one / two:.2f}x)")
    ours_by_name = {r[0]: r[1] for r in rows}
    for suffix, what in (("_train", "training only"), ("", "with the test scoring")):
        cached, plain = ours_by_name.get("finetune_cache" + suffix), ours_by_name.get("finetune_nocache" + suffix)
        if cached and plain:
            print(f"our fine-tune with --cache vs without ({what}): {plain / cached:.1f}x faster")


if __name__ == "__main__":
    main()
