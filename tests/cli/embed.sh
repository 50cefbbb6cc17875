# The library as others embed it: `cmake --install` into a fresh prefix, then
# examples/finetune_in_memory.c built against the installed headers and libraries through
# pkg-config (shared, and static with --static) and through CMake's find_package; each
# program fine-tunes the bundled model on arrays in memory, and its export runs in ONNX
# Runtime with our outputs. Only the public API is visible in either library.
. "$(dirname "$0")/lib.sh"
require_ort
PREFIX="$WORK/prefix"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" || fail "cmake --install: $(tail -3 "$WORK/install.log")"
LIB="$PREFIX/lib"
for f in bin/onnxtrain include/onnxtrain.h include/onnxtrain/train.h lib/libonnxtrain.a \
         lib/libonnxtrain.so lib/pkgconfig/onnxtrain.pc lib/cmake/onnxtrain/onnxtrainConfig.cmake; do
  [ -e "$PREFIX/$f" ] || fail "cmake --install did not install $f"
done
[ ! -e "$PREFIX/include/onnxtrain/zip.h" ] || fail "an internal header was installed"

# Public API only: every exported symbol is declared OT_API in an installed header (but those
# of a sanitizer's or gcov's runtime, __* and gcov's mangle_path, in such builds).
grep -ohE "OT_API[^(]*\bot_[a-z0-9_]+\(" "$PREFIX"/include/onnxtrain/*.h | sed -E "s/.*\b(ot_[a-z0-9_]+)\($/\1/" | sort -u >"$WORK/api.txt"
nm -D --defined-only "$LIB/libonnxtrain.so" | awk '$3 !~ /^__/ && $3 != "mangle_path" {print $3}' | sort -u >"$WORK/shared.txt"
nm -g --defined-only "$LIB/libonnxtrain.a" | awk 'NF == 3 && $3 !~ /^__/ && $3 != "mangle_path" {print $3}' | sort -u >"$WORK/static.txt"
cmp -s "$WORK/api.txt" "$WORK/shared.txt" || fail "libonnxtrain.so exports other than the API: $(diff "$WORK/api.txt" "$WORK/shared.txt" | head -5)"
cmp -s "$WORK/api.txt" "$WORK/static.txt" || fail "libonnxtrain.a exports other than the API: $(diff "$WORK/api.txt" "$WORK/static.txt" | head -5)"

# A sanitizer or coverage build of the library needs the same runtime in the program.
CFLAGS=(-std=c11 -O1 -Wall -Werror)
nm -D "$OT" 2>/dev/null | grep __asan_init >/dev/null && CFLAGS+=(-fsanitize=address,undefined)
nm "$OT" 2>/dev/null | grep __gcov_ >/dev/null && CFLAGS+=(--coverage)
export PKG_CONFIG_PATH="$LIB/pkgconfig"
EXAMPLE="$SRC/examples/finetune_in_memory.c"
# shellcheck disable=SC2046
cc "${CFLAGS[@]}" "$EXAMPLE" $(pkg-config --cflags --libs onnxtrain) -Wl,-rpath,"$LIB" -o "$WORK/shared" ||
  fail "the example does not build against the shared library"
static_libs=$(pkg-config --static --libs onnxtrain | sed "s|-lonnxtrain\b|$LIB/libonnxtrain.a|")
# shellcheck disable=SC2086
cc "${CFLAGS[@]}" "$EXAMPLE" $(pkg-config --cflags onnxtrain) $static_libs -o "$WORK/static" ||
  fail "the example does not build against the static library"
# Captured first: `ldd | grep -q` fails under pipefail when grep's early exit kills ldd (SIGPIPE).
shared_deps=$(ldd "$WORK/shared")
static_deps=$(ldd "$WORK/static")
grep -q "$LIB/libonnxtrain.so" <<<"$shared_deps" || fail "the shared build does not load the installed library"
grep -q libonnxtrain <<<"$static_deps" && fail "the static build loads a shared onnxtrain"

mkdir -p "$WORK/cmake_consumer"
cat >"$WORK/cmake_consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(onnxtrain 0.1 REQUIRED)
add_executable(finetune "$EXAMPLE")
target_link_libraries(finetune PRIVATE onnxtrain::onnxtrain)
target_compile_options(finetune PRIVATE ${CFLAGS[*]})
target_link_options(finetune PRIVATE ${CFLAGS[*]})
CMAKE
cmake -S "$WORK/cmake_consumer" -B "$WORK/cmake_build" -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DCMAKE_BUILD_RPATH="$LIB" >"$WORK/cmake.log" 2>&1 || fail "find_package(onnxtrain): $(tail -5 "$WORK/cmake.log")"
cmake --build "$WORK/cmake_build" >"$WORK/cmake_build.log" 2>&1 || fail "the CMake consumer does not build: $(tail -5 "$WORK/cmake_build.log")"

sine_npy "$WORK/x.npy" 4 1 28 28
for program in shared static cmake_build/finetune; do
  "$WORK/$program" "$SRC/models/fashion5.onnx" flatten1 relu3 "$WORK/out.onnx" >"$WORK/run.txt" ||
    fail "$program failed: $(cat "$WORK/run.txt")"
  accuracy=$(sed -n 's/.*test accuracy \([0-9.]*\).*/\1/p' "$WORK/run.txt")
  echo "$program: $(cat "$WORK/run.txt")"
  awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.9) }' || fail "$program reached only $accuracy on the bars"
  "$OT" run "$WORK/out.onnx" -i "$WORK/x.npy" -o "$WORK/ours_$$"
  ort_run "$WORK/out.onnx" "$WORK/theirs_$$" image="$WORK/x.npy"
  npy_close "$WORK/ours_$$/head_dense1_out.npy" "$WORK/theirs_$$/head_dense1_out.npy" 1e-5 >/dev/null ||
    fail "$program's export differs under ONNX Runtime"
  rm -rf "$WORK/ours_$$" "$WORK/theirs_$$" "$WORK/out.onnx"
done
echo ok
