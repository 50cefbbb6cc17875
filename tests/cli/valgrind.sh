# info, run, train, eval, new and convert (every format) under valgrind on small fixtures,
# including hostile inputs refused with an error: no invalid read or write, no use of
# uninitialised memory, no definite leak (valgrind exits 99 on any of them).
# valgrind cannot decode AVX-512, which -march=native emits on CPUs that have it, so this test
# builds its own onnxtrain (in BUILD/valgrind) from the same sources for AVX2 + FMA
# (-march=x86-64-v3): the instructions and kernel paths of the default build on an AVX2 CPU.
. "$(dirname "$0")/lib.sh"
if ! command -v valgrind >/dev/null; then
  fail "valgrind is not installed (tools/setup.sh installs it)"
fi
# grep reads all of nm's output: with -q it would stop early, nm would die of SIGPIPE and
# pipefail would make the test false.
if nm -D "$OT" 2>/dev/null | grep __asan_init >/dev/null; then
  echo "note: $OT is built with AddressSanitizer, which cannot run under valgrind: skipped"
  echo ok
  exit 0
fi
ARCH=(-DOT_ARCH=x86-64-v3)
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo || ARCH=(-DOT_NATIVE=OFF)
cmake -S "$SRC" -B "$BUILD/valgrind" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF "${ARCH[@]}" >"$WORK/cmake.log" 2>&1 ||
  fail "configuring the valgrind build failed: $(tail -5 "$WORK/cmake.log")"
cmake --build "$BUILD/valgrind" --target onnxtrain_cli -j"$(nproc)" >"$WORK/build.log" 2>&1 ||
  fail "the valgrind build failed: $(grep -m3 error "$WORK/build.log")"
OT="$BUILD/valgrind/onnxtrain"
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)

# vg STATUS CMD...: CMD under valgrind must exit with STATUS (0, or 1 for a refused input;
# "any": 0 or 1, for fuzz regressions that may or may not be valid models).
vg() {
  local want=$1 status=0
  shift
  "${VG[@]}" "$OT" "$@" >"$WORK/vg.out" 2>"$WORK/vg.err" || status=$?
  [ "$status" -ne 99 ] || fail "valgrind reports errors in: onnxtrain $*
$(grep -v '^onnxtrain' "$WORK/vg.err" | head -40)"
  [ "$want" = any ] && [ "$status" -le 1 ] && return
  [ "$status" = "$want" ] || fail "onnxtrain $* exited $status under valgrind, expected $want: $(tail -3 "$WORK/vg.err")"
}

W="$FIX/weights"
vg 0 info "$FIX/onnx/mlp.onnx"
vg 0 info --json "$W/cnn.onnx"
vg 0 run "$FIX/onnx/mlp.onnx" -i x="$FIX/onnx/mlp_x.npy" -o "$WORK/run"
vg 0 run "$W/cnn.onnx" -i "$W/input.npy" -o "$WORK/run_cnn"
vg 0 convert "$FIX/onnx/shared_identity.onnx" -o "$WORK/copy.onnx"
vg 0 convert "$W/cnn.onnx" -o "$WORK/cnn.npz" --compress
vg 0 convert "$W/cnn.onnx" -o "$WORK/cnn.safetensors"
vg 0 convert "$W/cnn_state.pt" --arch "$W/cnn_zero.onnx" -o "$WORK/from_pt.onnx"
vg 0 convert "$W/cnn_keras.h5" --arch "$W/cnn_zero.onnx" -o "$WORK/from_h5.onnx"
vg 0 convert "$WORK/cnn.npz" --arch "$W/cnn_zero.onnx" -o "$WORK/from_npz.onnx" --strict
vg 0 new flatten,dense:8:relu,batchnorm,dropout:0.1,dense:3 --input x:8 -o "$WORK/new.onnx"
vg 0 train "$WORK/new.onnx" --data "npz:$FIX/train/data.npz" --epochs 2 --batch 16 --val-split 0.2 \
  --checkpoint "$WORK/ck.zip" --log "$WORK/log.csv" -q -o "$WORK/trained.onnx"
vg 0 train "$WORK/new.onnx" --data "npz:$FIX/train/data.npz" --epochs 3 --batch 16 --val-split 0.2 \
  --checkpoint "$WORK/ck.zip" --resume -q -o "$WORK/trained.onnx"
vg 0 train "$FIX/train/mlp_bn.onnx" --data "npz:$FIX/train/data.npz" --epochs 2 --freeze-upto 1 \
  --cache "$WORK/cache" -q -o "$WORK/cached.onnx"
vg 0 eval "$WORK/trained.onnx" --data "npz:$FIX/train/data.npz"
vg 1 train "$FIX/train/mlp.onnx" --data "images:$FIX/data/images" -q -o "$WORK/x.onnx" # not N x C x H x W

# Hostile and broken inputs: refused, cleanly.
for bad in truncated garbage cycle overflowing_dims raw_data_size external_outside stride_zero; do
  vg 1 info "$FIX/onnx/bad/$bad.onnx"
done
vg 1 convert "$W/bad_view.pt" -o "$WORK/x.npz"
vg 1 convert "$W/not_keras.h5" -o "$WORK/x.npz"
vg 1 run "$FIX/onnx/mlp.onnx" -i x="$FIX/npy/truncated.npy" -o "$WORK/x"
vg 1 train "$FIX/train/mlp.onnx" --data "csv:$FIX/data/bad.csv" -q -o "$WORK/x.onnx"
for f in "$SRC"/tests/fuzz/regressions/onnx/*; do vg any info "$f"; done
echo ok
