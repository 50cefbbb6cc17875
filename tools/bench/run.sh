#!/usr/bin/env bash
# The benchmark suite (not in CI): onnxtrain vs PyTorch 2.x (PyPI), PyTorch 1.13 (Debian) and
# ONNX Runtime (PyPI), see bench.py. Installs what it needs first (tools/setup.sh --torch).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup.sh --torch >/dev/null
exec tools/py tools/bench/bench.py "$@"
