#!/usr/bin/env bash
# Installs what onnxtrain needs on a fresh Debian 12 machine and builds it into build/.
# Idempotent: packages already present are not reinstalled; the build is incremental.
#   tools/setup.sh            build/ (Release, warnings as errors)
#   tools/setup.sh --torch    also PyTorch: Debian's python3-torch 1.13, and torch 2.x with
#                             torchvision from PyPI into .deps/venv (benchmarks, fixtures;
#                             a few GB, never needed to build or test)
#   BUILD_DIR=x CMAKE_ARGS="-DOT_SANITIZE=ON" tools/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  libopenblas-dev zlib1g-dev libcmocka-dev libhdf5-dev libpng-dev libjpeg-dev
  libonnx-testdata dataset-fashion-mnist clang libclang-rt-14-dev valgrind strace
  python3 python3-venv libcairo2-dev libgraphviz-dev fonts-dejavu-core chromium openmpi-bin
  libopenmpi-dev protobuf-compiler python3-opencv)
TORCH=0
[ "${1:-}" = --torch ] && TORCH=1 && PACKAGES+=(python3-torch python3-numpy time)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The test tools' Python (tools/py): Debian's Python 3.11 in a virtual environment in the
# ignored .deps/ folder, with ONNX Runtime (the client our users run exported models with),
# onnx and numpy from PyPI. Reinstalled when tools/requirements-test.txt changes.
VENV=.deps/venv
if ! cmp -s tools/requirements-test.txt "$VENV/requirements-test.txt"; then
  echo "setup: installing tools/requirements-test.txt into $VENV"
  [ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r tools/requirements-test.txt
  cp tools/requirements-test.txt "$VENV/requirements-test.txt"
fi
if [ "$TORCH" = 1 ] && ! cmp -s tools/bench/requirements.txt "$VENV/requirements-bench.txt"; then
  echo "setup: installing tools/bench/requirements.txt into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r tools/bench/requirements.txt
  cp tools/bench/requirements.txt "$VENV/requirements-bench.txt"
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DOT_WERROR=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" 2>&1 | grep -vE "^\[|^-- |Scanning|Consolidate" || true
test -x "$BUILD_DIR/onnxtrain" || { echo "setup: build failed" >&2; exit 1; }
echo "setup: built $BUILD_DIR/onnxtrain"
