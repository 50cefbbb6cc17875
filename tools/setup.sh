#!/usr/bin/env bash
# Installs what onnxtrain needs on a fresh Debian 12 machine and builds it into build/.
# Idempotent: packages already present are not reinstalled; the build is incremental.
#   tools/setup.sh            build/ (Release, warnings as errors)
#   BUILD_DIR=x CMAKE_ARGS="-DOT_SANITIZE=ON" tools/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  libopenblas-dev zlib1g-dev libcmocka-dev libhdf5-dev libpng-dev libjpeg-dev
  libonnx-testdata dataset-fashion-mnist clang libclang-rt-14-dev valgrind)
# Node.js and npm often come from NodeSource, whose nodejs package bundles npm and conflicts
# with Debian's npm package: install Debian's only when the commands are missing.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

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

# ONNX Runtime for Node.js: the client our users run exported models with. Tests use it
# to score exported models; kept in the ignored .deps/ folder.
if [ ! -d .deps/node_modules/onnxruntime-node ]; then
  echo "setup: installing onnxruntime-node into .deps/"
  mkdir -p .deps
  (cd .deps && { [ -f package.json ] || echo '{"name":"onnxtrain-deps","private":true}' > package.json; } &&
    npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null)
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DOT_WERROR=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" 2>&1 | grep -vE "^\[|^-- |Scanning|Consolidate" || true
test -x "$BUILD_DIR/onnxtrain" || { echo "setup: build failed" >&2; exit 1; }
echo "setup: built $BUILD_DIR/onnxtrain"
