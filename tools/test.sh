#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs, builds with warnings as
# errors, runs every CTest case (unit, ONNX backend, CLI, ONNX Runtime checks).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cd build
ctest -j"$(nproc)" --output-on-failure --timeout 600 "$@"
