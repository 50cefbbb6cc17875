#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan) into build-fuzz/ and runs each over its
# seed corpus (tests/fuzz/corpus/<target>, copied so new inputs stay out of the tree) and its
# regression inputs (tests/fuzz/regressions/<target>), for SECONDS each.
#   tools/fuzz.sh [SECONDS] [TARGET...]      default: 5 seconds, every target
# Prints the executions per target; exits non-zero on any finding (crash, leak, sanitizer
# report, timeout, out-of-memory), leaving the input in build-fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-5}
shift || true
ALL=(onnx npy npz safetensors torch_pt keras_h5 idx csv images training_log event_file prototxt
  caffemodel)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_BUILD_JOBS:-$(nproc)}

cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DOT_FUZZ=ON \
  -DOT_WERROR=ON >/dev/null
cmake --build "$BUILD" --target fuzz_all -j"$JOBS" 2>&1 | grep -vE "^\[|^-- |Scanning|Consolidate" || true

# Inputs bigger than these are not tried: the fixtures they grow from are smaller.
max_len() {
  case $1 in keras_h5|torch_pt|npz) echo 16384 ;; *) echo 8192 ;; esac
}

# allocator_may_return_null: libhdf5 mallocs sizes read from a corrupt file and handles the
# NULL, and so do we (OT_ERR_MEMORY); -malloc_limit_mb makes any single allocation over 1 GiB a
# finding, so sizes taken from a file unchecked are still caught.
failed=()
for t in "${TARGETS[@]}"; do
  bin="$BUILD/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: no target $t (${ALL[*]})" >&2; exit 2; }
  work="$BUILD/corpus/$t"
  artifacts="$BUILD/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  dirs=("$work")
  [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
  log="$BUILD/fuzz_$t.log"
  status=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:allocator_may_return_null=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
  LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp \
    "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
      -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "${dirs[@]}" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    echo "fuzz $t: FINDING after ${runs:-?} executions (log $log, inputs in $artifacts/)"
    grep -E "^==[0-9]+==ERROR|runtime error|SUMMARY|ALARM|out-of-memory|Test unit written" "$log" | head -5
    failed+=("$t")
  else
    echo "fuzz $t: ${runs:-?} executions in ${SECONDS_EACH}s, no finding"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
