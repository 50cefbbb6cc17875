#!/usr/bin/env bash
# Regenerates tests/backend/skipped.txt: every ONNX backend test this build does not run, and
# why. Out-of-scope tests (ops outside the supported set, dtypes other than float32/int64/bool)
# are classified by `backend_runner --classify`; in-scope tests known to fail keep their
# hand-written reasons from the "in scope" section, which this script preserves.
#   tools/gen_backend_manifest.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DATA=/usr/share/libonnx-testdata/data
OUT=tests/backend/skipped.txt
inscope=$(sed -n '/^# --- in scope/,/^# --- out of scope/p' "$OUT" | grep -v '^#' || true)
{
  echo "# ONNX backend tests (Debian libonnx-testdata) that are not registered as CTest cases, and why."
  echo "# Every other folder under $DATA/{node,pytorch-converted,pytorch-operator,simple} runs as"
  echo "# backend.<category>.<test>. Regenerate the out-of-scope part with tools/gen_backend_manifest.sh."
  echo "# Format: <category>/<test>  <reason>"
  echo "# --- in scope (ops and dtypes supported) but known not to pass"
  [ -n "$inscope" ] && echo "$inscope"
  echo "# --- out of scope"
  for category in node pytorch-converted pytorch-operator simple; do
    for dir in "$DATA/$category"/test_*; do
      verdict=$("$BUILD/tests/backend_runner" --classify "$dir")
      case "$verdict" in
        run) ;;
        skip:*) echo "$category/$(basename "$dir")  ${verdict#skip: }" ;;
      esac
    done
  done
} > "$OUT.new"
mv "$OUT.new" "$OUT"
echo "$(grep -vc '^#' "$OUT") tests listed in $OUT"
