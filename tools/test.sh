#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs, builds with warnings as
# errors, runs every CTest case (unit, ONNX backend, CLI, ONNX Runtime checks); then the same
# suite built with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/ (any report
# fails), then a short libFuzzer pass over every reader's corpus (tools/fuzz.sh). Every part
# runs even when one before it failed; the end lists the parts that failed (exit 1).
#   tools/test.sh [CTEST ARGS...]     e.g. -R cli to run only the CLI tests (in both builds)
#   OT_TEST_SANITIZE=0 / OT_TEST_FUZZ=0 skip the second and third parts.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
failed=()

# part NAME CMD...: runs one part, remembering it when it fails.
part() {
  local name=$1
  shift
  echo "test: $name"
  "$@" || { echo "test: FAILED: $name" >&2; failed+=("$name"); }
}

release_suite() {
  tools/setup.sh && (cd build && ctest -j"$(nproc)" --output-on-failure --timeout 600 "$@")
}

# Any report aborts the test that hit it. allocator_may_return_null: libhdf5 mallocs sizes
# read from a corrupt file and handles the NULL; onnxtrain's own allocations turn NULL into
# OT_ERR_MEMORY, which the tests that do not expect it fail on. libhdf5's own leaks on corrupt files are
# suppressed (tests/fuzz/lsan.supp says why); leaks in onnxtrain are not.
sanitizer_suite() {
  BUILD_DIR=build-asan CMAKE_ARGS="-DOT_SANITIZE=ON" tools/setup.sh &&
    (cd build-asan &&
      ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      LSAN_OPTIONS=suppressions="$PWD/../tests/fuzz/lsan.supp":print_suppressions=0 \
      ctest -j"$(nproc)" --output-on-failure --timeout 1200 "$@")
}

part "the release suite (build/)" release_suite "$@"
if [ "${OT_TEST_SANITIZE:-1}" != 0 ]; then
  part "the suite under ASan + UBSan (build-asan/)" sanitizer_suite "$@"
fi
if [ "${OT_TEST_FUZZ:-1}" != 0 ]; then
  part "short fuzz pass (tools/fuzz.sh, 5 s per target)" tools/fuzz.sh 5
fi

took=$(($(date +%s) - started))
if [ ${#failed[@]} -gt 0 ]; then
  echo "test: ${#failed[@]} part(s) failed in $took s:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "test: everything passed in $took s"
