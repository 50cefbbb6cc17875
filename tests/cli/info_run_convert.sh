# info (table and JSON), run (.npy in/out, input checks), convert (round trip through ONNX
# Runtime when installed).
. "$(dirname "$0")/lib.sh"
"$OT" info "$FIX/onnx/mlp.onnx" >"$WORK/info.txt"
grep -q "input     x  float32 \[N,4\]" "$WORK/info.txt" || fail "info input line: $(cat "$WORK/info.txt")"
grep -qE "^ +0  fc1 +Gemm +\[N,5\] +25  trainable$" "$WORK/info.txt" || fail "info layer line"
grep -q "3 layers, 43 parameters" "$WORK/info.txt" || fail "info totals"
"$OT" info "$FIX/onnx/mlp.onnx" --freeze fc1 >"$WORK/info_frozen.txt"
grep -qE "^ +0  fc1 +Gemm +\[N,5\] +25  frozen$" "$WORK/info_frozen.txt" || fail "info --freeze does not mark fc1"
grep -qE "^ +2  fc2 +Gemm +\[N,3\] +18  trainable$" "$WORK/info_frozen.txt" || fail "info --freeze marks fc2"
expect_error "--freeze: 'nothing*' matches no layer" "$OT" info "$FIX/onnx/mlp.onnx" --freeze 'nothing*'
"$OT" info --json "$FIX/onnx/mlp.onnx" | "$PY" -c 'import json, sys
j = json.load(sys.stdin)
sys.exit(not (len(j["layers"]) == 3 and j["parameter_count"] == 43 and j["inputs"][0]["shape"] == "[N,4]"))' ||
  fail "info --json"

"$OT" run "$FIX/onnx/mlp.onnx" -i x="$FIX/onnx/mlp_x.npy" -o "$WORK/out"
npy_close "$WORK/out/y.npy" "$FIX/onnx/mlp_y.npy" 1e-5 >/dev/null || fail "run output differs from numpy"
"$OT" run "$FIX/onnx/mlp.onnx" -i "$FIX/onnx/mlp_x.npy" -o "$WORK/out2"   # NAME= optional with one input
expect_error "input 'x'" "$OT" run "$FIX/onnx/mlp.onnx" -i x="$FIX/npy/i8.npy" -o "$WORK/o"
expect_error "has shape [2,3], the model expects [N,4]" "$OT" run "$FIX/onnx/mlp.onnx" -i x="$FIX/npy/f4.npy" -o "$WORK/o"
expect_error "input 'x' is not given" "$OT" run "$FIX/onnx/mlp.onnx" -o "$WORK/o"
expect_error "no input named 'nope'" "$OT" run "$FIX/onnx/mlp.onnx" -i nope="$FIX/onnx/mlp_x.npy" -o "$WORK/o"
expect_error "truncated.onnx" "$OT" info "$FIX/onnx/bad/truncated.onnx"
expect_error "'fancy1' (FancyOp)" "$OT" run "$FIX/onnx/bad/unknown_ops.onnx" -i x="$FIX/onnx/mlp_x.npy" -o "$WORK/o"

"$OT" convert "$FIX/onnx/mlp.onnx" -o "$WORK/copy.onnx"
# A failed convert leaves an existing output untouched.
cp "$WORK/copy.onnx" "$WORK/keep.onnx"
expect_error "cycle" "$OT" convert "$FIX/onnx/bad/cycle.onnx" -o "$WORK/keep.onnx"
cmp -s "$WORK/copy.onnx" "$WORK/keep.onnx" || fail "failed convert changed the output file"
require_ort
ort_run "$FIX/onnx/mlp.onnx" "$WORK/ort_a" x="$FIX/onnx/mlp_x.npy"
ort_run "$WORK/copy.onnx" "$WORK/ort_b" x="$FIX/onnx/mlp_x.npy"
npy_close "$WORK/ort_a/y.npy" "$WORK/ort_b/y.npy" 0 >/dev/null || fail "round trip changed ONNX Runtime's output"
npy_close "$WORK/out/y.npy" "$WORK/ort_a/y.npy" 1e-5 >/dev/null || fail "our output differs from ONNX Runtime's"
# shared_identity.onnx multiplies float32 activations by float16 and float64 weights (ONNX's
# type rules forbid it, so ONNX Runtime refuses the file): convert keeps each initializer in
# its declared dtype, and the folded model computes the same output.
"$OT" convert "$FIX/onnx/shared_identity.onnx" -o "$WORK/shared.onnx"
"$PY" -c 'import sys, onnx
types = {t.name: t.data_type for t in onnx.load(sys.argv[1]).graph.initializer}
sys.exit(0 if types["half_w"] == onnx.TensorProto.FLOAT16 and types["dbl_w"] == onnx.TensorProto.DOUBLE else f"initializer dtypes changed: {types}")' "$WORK/shared.onnx" || fail "convert changed initializer dtypes"
"$OT" run "$WORK/shared.onnx" -i x="$FIX/onnx/shared_x.npy" -o "$WORK/shared_out"
npy_close "$WORK/shared_out/y.npy" "$FIX/onnx/shared_y.npy" 1e-5 >/dev/null || fail "folded model's output changed"
# Winograd convs (16 channels: 3x3 by F(2x2,3x3); with --fast-conv 3x3 by F(4x4,3x3) and
# 5x5 by F(2x2,5x5)) against ONNX Runtime.
"$OT" new conv:16:3x3:1:1:relu,conv:16:5x5:1:2:relu,conv:16:3x3:1:1 --input x:16x13x11 --seed 5 -o "$WORK/wino.onnx"
sine_npy "$WORK/wx.npy" 2 16 13 11
"$OT" run "$WORK/wino.onnx" -i x="$WORK/wx.npy" -o "$WORK/wino_ours"
"$OT" run "$WORK/wino.onnx" -i x="$WORK/wx.npy" -o "$WORK/wino_fast" --fast-conv
ort_run "$WORK/wino.onnx" "$WORK/wino_ort" x="$WORK/wx.npy"
out=$(ls "$WORK/wino_ours")
npy_close "$WORK/wino_ours/$out" "$WORK/wino_ort/$out" 1e-5 >/dev/null || fail "Winograd convs differ from ONNX Runtime"
npy_close "$WORK/wino_fast/$out" "$WORK/wino_ort/$out" 1e-4 >/dev/null || fail "--fast-conv convs differ from ONNX Runtime"
# FFT convs (5x5 on 12 x 12 planes, a batch of 32: conv_fft.c) against ONNX Runtime.
"$OT" new conv:32:5x5:1:2:relu,conv:32:5x5:1:2 --input x:16x12x12 --seed 6 -o "$WORK/fft.onnx"
sine_npy "$WORK/fx.npy" 32 16 12 12
"$OT" run "$WORK/fft.onnx" -i x="$WORK/fx.npy" -o "$WORK/fft_ours"
ort_run "$WORK/fft.onnx" "$WORK/fft_ort" x="$WORK/fx.npy"
out=$(ls "$WORK/fft_ours")
npy_close "$WORK/fft_ours/$out" "$WORK/fft_ort/$out" 1e-5 >/dev/null || fail "FFT convs differ from ONNX Runtime"
echo ok
