#!/usr/bin/env python3
"""The paper scaling model of docs/DISTRIBUTED.md: per step, every rank allreduces its gradient
block (4 bytes per trained parameter) with a ring allreduce (Open MPI's choice for large
blocks): 2 (N - 1) / N x S bytes sent by each rank, in 2 (N - 1) messages of latency a. Given
the measured one-machine step time T (forward + backward + step, at the per-rank batch), the
predicted step time on N machines is T + C(N) as onnxtrain does it (allreduce after the
backward pass), and max(T, T_f + C(N)) if the allreduce hid behind the backward pass (buckets,
T_b = 2/3 T). Prints the table and, per model and link, the N from which communication no
longer hides behind the backward pass.
  tools/bench/scaling_model.py"""

LINKS = {"10 Gbit/s": (10e9 / 8, 20e-6), "100 Gbit/s": (100e9 / 8, 5e-6)}  # bytes/s, latency a
# name: (trained parameters, measured one-machine step time in s, per-rank batch, where measured)
MODELS = {
    "MLP 784-300-100-10": (266_610, 2.0 / 938, 64, "mlp_epoch: 2.0 s / 938 steps"),
    "LeNet CNN": (454_922, 5.2 / 200, 64, "cnn_200_steps: 5.2 s / 200 steps"),
    "ResNet18": (11_689_512, 0.66, 8, "3 x resnet18_infer's 0.22 s (forward + backward)"),
    "ViT, 4 layers, d 256": (3_660_000, 0.45, 16, "transformer_10_steps: 4.5 s / 10 (proxy)"),
}


def comm(params, n, bandwidth, latency):
    size = 4 * params
    return 2 * (n - 1) / n * size / bandwidth + 2 * (n - 1) * latency


def main():
    print(f"{'model':22} {'MB/step':>8} {'step s':>8}  link        {'C(2)':>8} {'C(8)':>8} {'C(64)':>8} "
          f"{'T+C(8)':>8} {'eff(8)':>6}  hides up to")
    for name, (params, step, batch, _) in MODELS.items():
        for link, (bandwidth, latency) in LINKS.items():
            backward = 2 / 3 * step
            hides = [n for n in range(2, 4097) if comm(params, n, bandwidth, latency) <= backward]
            limit = "never" if not hides else ("N > 4096" if hides[-1] == 4096 else f"N = {hides[-1]}")
            c8 = comm(params, 8, bandwidth, latency)
            print(f"{name:22} {4 * params / 1e6:8.2f} {step:8.4f}  {link:10} {comm(params, 2, bandwidth, latency) * 1e3:7.2f}m {c8 * 1e3:7.2f}m "
                  f"{comm(params, 64, bandwidth, latency) * 1e3:7.2f}m {step + c8:8.4f} {step / (step + c8):6.0%}  {limit}")


if __name__ == "__main__":
    main()
