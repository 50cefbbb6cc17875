#!/usr/bin/env bash
# The Caffe zoo check at the published sizes the test suite scales down (docs/CAFFE.md):
# CaffeNet (3x227x227, fc 4096: 61M parameters, a 240 MB .caffemodel) and VGG-16 (3x224x224,
# fc 4096: 138M parameters, 550 MB), generated with random weights into WORK_DIR and compared
# with OpenCV's Caffe reader and ONNX Runtime on our export, as tests/caffe/zoo.sh does. Needs
# a few GB of memory and disk; run by hand.
#   tools/check_caffe_full.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
for net in caffenet_full vgg16_full; do
  start=$(date +%s)
  bash tests/caffe/zoo.sh "$BUILD" . "$net"
  echo "$net: $(( $(date +%s) - start )) s"
done
