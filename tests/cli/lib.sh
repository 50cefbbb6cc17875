# Helpers for the CLI tests: each test script sources this, gets $OT (the binary), $SRC (the
# source tree), $WORK (a fresh temporary folder) and these functions. set -e is on.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
OT="$BUILD/onnxtrain"
FIX="$SRC/tests/fixtures"
WORK=$(mktemp -d /tmp/onnxtrain-cli-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error "words" CMD...: CMD must exit non-zero and print the words on stderr.
expect_error() {
  local words=$1; shift
  local status=0
  "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || status=$?
  [ "$status" -ne 0 ] || fail "expected failure: $*"
  grep -qF -- "$words" "$WORK/err.txt" || fail "expected '$words' in the error of: $* (got: $(cat "$WORK/err.txt"))"
  [ "$(wc -l <"$WORK/err.txt")" -le 3 ] || fail "error message too long for: $*"
}

# wait_stopped PID STEP [ERRFILE]: waits until the process PID, started with
# ONNXTRAIN_TEST_PAUSE_AT_STEP=STEP, has stopped itself after that training step (any machine's
# speed); fails, quoting ERRFILE (its stderr), if it ends first or takes over 120 s.
wait_stopped() {
  local state
  for _ in $(seq 12000); do
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || true
    [ "$state" = T ] && return
    [ -n "$state" ] && [ "$state" != Z ] || fail "the run ended before step $2: $(cat "${3:-/dev/null}")"
    sleep 0.01
  done
  fail "the run did not reach step $2 in 120 s"
}

# Python with numpy, onnx and ONNX Runtime (tools/setup.sh makes .deps/venv); ONNX Runtime is
# the client our users run exported models with, so the tests that score exports need it.
PY="$SRC/tools/py"
require_ort() {
  "$PY" -c 'import onnxruntime' 2>/dev/null || fail "ONNX Runtime is missing from .deps/venv (run tools/setup.sh)"
}
ort_run() { "$PY" "$SRC/tools/ort_run.py" "$@"; }

# sine_npy FILE D0 D1 ...: a float32 .npy of that shape holding sin(0.7 i).
sine_npy() {
  "$PY" -c 'import sys, numpy as np
dims = [int(d) for d in sys.argv[2:]]
np.save(sys.argv[1], np.sin(0.7 * np.arange(int(np.prod(dims)))).astype(np.float32).reshape(dims))' "$@"
}

# npy_close A.npy B.npy TOL: same shape and dtype, max |a-b| <= TOL (a NaN anywhere fails).
npy_close() {
  "$PY" -c 'import sys, numpy as np
a, b, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
if a.shape != b.shape or a.dtype != b.dtype:
    sys.exit(f"shapes or types differ: {a.shape} {a.dtype} vs {b.shape} {b.dtype}")
worst = float(np.abs(a.astype(np.float64) - b).max()) if a.size else 0.0
if not worst <= tol:
    sys.exit(f"largest difference {worst} > {tol}")
print(f"largest difference {worst}")' "$1" "$2" "$3"
}

# Data-parallel runs (tests/cli/mpi_*.sh). require_mpi skips (exit 77) a build without MPI.
# mpi_run N ARGS...: onnxtrain ARGS on N ranks of this machine: as root too (containers), with
# more ranks than cores, over shared memory only (no network probing), without the
# cross-memory-attach copy that containers' ptrace restrictions refuse, and with Open MPI's
# plugins kept loaded to the end, so LeakSanitizer can name them (tests/fuzz/lsan.supp).
require_mpi() {
  command -v mpirun >/dev/null && ldd "$OT" | grep libmpi >/dev/null || { echo "SKIP: built without MPI"; exit 77; }
  # Open MPI's libraries have no frame pointers: under ASan, the slow unwinder gives its leaks
  # (suppressed in tests/fuzz/lsan.supp) whole stacks that name them.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
}
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader --mca btl_vader_single_copy_mechanism none
  --mca mca_base_component_disable_dlclose 1)
mpi_run() {
  local n=$1
  shift
  "${MPIRUN[@]}" -np "$n" "$OT" "$@"
}
# weights_close A.onnx B.onnx TOL: every float initializer of A is within TOL of B's, relative
# to the tensor's largest magnitude (max |a - b| / max |b|); prints the worst.
weights_close() {
  "$OT" convert "$1" -o "$WORK/close_a.npz" >/dev/null
  "$OT" convert "$2" -o "$WORK/close_b.npz" >/dev/null
  "$PY" -c 'import sys, numpy as np
a, b, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
if sorted(a.files) != sorted(b.files):
    sys.exit(f"different tensors: {sorted(a.files)} vs {sorted(b.files)}")
worst = max((float(np.abs(a[k].astype(np.float64) - b[k]).max() / max(np.abs(b[k]).max(), 1e-30)), k)
            for k in a.files if a[k].dtype == np.float32)
if not worst[0] <= tol:
    sys.exit(f"{worst[1]} differs by {worst[0]:.3g} relative > {tol}")
print(f"largest relative difference {worst[0]:.3g} ({worst[1]})")' "$WORK/close_a.npz" "$WORK/close_b.npz" "$3"
}
# screenshot PICTURE.svg SHOT.png WIDTH HEIGHT: Debian's Chromium, headless, renders the picture
# as a browser shows it (--no-sandbox: the tests may run as root; its own profile in $WORK).
screenshot() {
  command -v chromium >/dev/null || fail "chromium is missing (tools/setup.sh installs it)"
  rm -f "$2"
  timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$WORK/chromium" --screenshot="$2" --window-size="$3,$4" "file://$1" \
    >"$WORK/chromium.log" 2>&1 || true
  [ -s "$2" ] || fail "chromium made no screenshot of $1: $(tail -3 "$WORK/chromium.log")"
}
