# --max-memory on every command that loads models or data: the error names what needed the
# memory, the limit, and the flag; nothing is written.
. "$(dirname "$0")/lib.sh"
# 1024x1024 + 1024x10 weights: a 4.0 MiB model file.
"$OT" new flatten,dense:1024:relu,dense:10 --input x:1024 -o "$WORK/big.onnx"
LIMIT="over the memory limit of 2.0 MiB (raise it with --max-memory)"
expect_error "big.onnx: reading the file needs 4.0 MiB, $LIMIT" "$OT" info "$WORK/big.onnx" --max-memory 2
expect_error "$LIMIT" "$OT" convert "$WORK/big.onnx" -o "$WORK/out.onnx" --max-memory 2
expect_error "$LIMIT" "$OT" convert "$WORK/big.onnx" -o "$WORK/out.npz" --max-memory 2
expect_error "$LIMIT" "$OT" eval "$WORK/big.onnx" --data "csv:$FIX/data/table.csv" --max-memory 2
expect_error "$LIMIT" "$OT" train "$WORK/big.onnx" --data "csv:$FIX/data/table.csv" --max-memory 2 -o "$WORK/out.onnx"
expect_error "$LIMIT" "$OT" new dense:1024 --input x:1024 --max-memory 2 -o "$WORK/out.onnx"
[ ! -e "$WORK/out.onnx" ] && [ ! -e "$WORK/out.npz" ] || fail "a refused command wrote its output"
# Data: Fashion-MNIST's 60000 images are 179.4 MiB as float32.
if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  expect_error "train-images-idx3-ubyte.gz needs 179.4 MiB, over the memory limit of 64.0 MiB" \
    "$OT" train "$FIX/train/mlp.onnx" --data fashion-mnist:train --max-memory 64 -o "$WORK/out.onnx"
fi
# Images: a 60-byte PNG whose header claims 16384 x 16384 RGB pixels (768 MiB).
mkdir -p "$WORK/images/a"
"$PY" -c 'import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
ihdr = struct.pack(">IIBBBBB", 16384, 16384, 8, 2, 0, 0, 0)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
    chunk(b"IDAT", zlib.compress(bytes(8))) + chunk(b"IEND", b""))' "$WORK/images/a/big.png"
"$OT" new conv:2:3x3,flatten,dense:2 --input x:3x8x8 -o "$WORK/small_cnn.onnx"
expect_error "big.png needs 768.0 MiB, over the memory limit of 100.0 MiB" \
  "$OT" train "$WORK/small_cnn.onnx" --data "images:$WORK/images" --max-memory 100 -o "$WORK/out.onnx"
# Plans: 64 channels of 256x256 are 16 MiB of activations from a 3 KB model.
"$OT" new conv:64:3x3:1:same --input x:1x256x256 -o "$WORK/conv.onnx"
"$PY" -c 'import sys, numpy as np; np.save(sys.argv[1], np.zeros((1, 1, 256, 256), np.float32))' "$WORK/x.npy"
expect_error "conv1_out needs 16.0 MiB, over the memory limit of 8.0 MiB (raise it with --max-memory)" \
  "$OT" run "$WORK/conv.onnx" -i "$WORK/x.npy" -o "$WORK/run" --max-memory 8
"$OT" run "$WORK/conv.onnx" -i "$WORK/x.npy" -o "$WORK/run" --max-memory 64
"$OT" info "$WORK/big.onnx" --max-memory 16 >/dev/null
expect_error "--max-memory: expected a whole number" "$OT" info "$WORK/big.onnx" --max-memory lots
# The same commands pass with room.
"$OT" convert "$WORK/big.onnx" -o "$WORK/out.onnx" --max-memory 64 >/dev/null
echo ok
