#!/usr/bin/env bash
# The benchmark suite (not in CI): onnxtrain vs PyTorch / ONNX Runtime, see bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x build/onnxtrain ] || tools/setup.sh
exec /usr/bin/python3 tools/bench/bench.py "$@"
