# train/new/eval on tiny data: flag errors, label checks, NaN handling, determinism, export
# that ONNX Runtime runs.
. "$(dirname "$0")/lib.sh"
DATA="npz:$FIX/train/data.npz"
M="$FIX/train/mlp.onnx"
expect_error "--optimizer lion: unknown" "$OT" train "$M" --data "$DATA" --optimizer lion -o "$WORK/m.onnx"
expect_error "--lr: expected a number" "$OT" train "$M" --data "$DATA" --lr fast -o "$WORK/m.onnx"
expect_error "--epochs: expected a whole number" "$OT" train "$M" --data "$DATA" --epochs 0 -o "$WORK/m.onnx"
expect_error "--schedule: 'warm:3' is not a schedule" "$OT" train "$M" --data "$DATA" --schedule warm:3 -o "$WORK/m.onnx"
expect_error "--loss hinge: unknown" "$OT" train "$M" --data "$DATA" --loss hinge -o "$WORK/m.onnx"
expect_error "unknown data spec" "$OT" train "$M" --data "mnist" -o "$WORK/m.onnx"
expect_error "--early-stopping needs validation data" "$OT" train "$M" --data "$DATA" --early-stopping 2 -o "$WORK/m.onnx"
# Labels 0..2 against a 2-way head: out of range.
expect_error "out of range for an output of 2 values" "$OT" train "$M" --data "$DATA" --cut /3/Tanh_output_0 --head dense:2 -o "$WORK/m.onnx"
# Samples of the wrong size for the input.
expect_error "has samples of shape [3]" "$OT" train "$M" --data "csv:$FIX/data/table.csv" -o "$WORK/m.onnx"
# A diverging run stops with the step named and writes nothing.
expect_error "became NaN or infinite at step 5 (epoch 2)" "$OT" train "$M" --data "$DATA" --optimizer sgd --loss mse --lr 1000000 --epochs 3 -q -o "$WORK/nan.onnx"
[ ! -e "$WORK/nan.onnx" ] || fail "a diverged run left an output file"
# ... and an existing output stays as it was.
echo "previous" >"$WORK/kept.onnx"
expect_error "became NaN or infinite" "$OT" train "$M" --data "$DATA" --optimizer sgd --loss mse --lr 1000000 --epochs 3 -q -o "$WORK/kept.onnx"
[ "$(cat "$WORK/kept.onnx")" = previous ] || fail "a diverged run replaced the existing output"
# skip-batch leaves such steps out and says so.
"$OT" train "$M" --data "$DATA" --optimizer sgd --loss mse --lr 1000000 --epochs 3 --on-nonfinite skip-batch \
  -o "$WORK/skipped.onnx" >"$WORK/skip.txt" 2>&1 || fail "skip-batch should finish the run"
grep -q "the step is skipped" "$WORK/skip.txt" || fail "skip-batch did not say which steps it skipped"
expect_error "--on-nonfinite ignore: expected stop or skip-batch" "$OT" train "$M" --data "$DATA" --on-nonfinite ignore -o "$WORK/m.onnx"
# NaN in the data is an error naming the array and the sample, before training.
"$PY" -c "import numpy as np; d = np.load('$FIX/train/data.npz'); x = d['x'].copy(); x[7, 2] = np.nan; np.savez('$WORK/nan.npz', x=x, y=d['y'])"
expect_error "array 'x' holds NaN at sample 7" "$OT" train "$M" --data "npz:$WORK/nan.npz" -o "$WORK/m.onnx"
expect_error "array 'x' holds NaN at sample 7" "$OT" eval "$M" --data "npz:$WORK/nan.npz"

"$OT" train "$M" --data "$DATA" --epochs 3 --batch 16 --seed 7 --log "$WORK/log.csv" -q -o "$WORK/a.onnx"
"$OT" train "$M" --data "$DATA" --epochs 3 --batch 16 --seed 7 -q -o "$WORK/b.onnx"
cmp -s "$WORK/a.onnx" "$WORK/b.onnx" || fail "the same --seed gave different weights"
[ "$(wc -l <"$WORK/log.csv")" -eq 4 ] || fail "log should have a header and 3 epoch lines"
"$OT" eval "$WORK/a.onnx" --data "$DATA" --json >"$WORK/eval.json"
grep -q '"samples": 100' "$WORK/eval.json" || fail "eval json: $(cat "$WORK/eval.json")"

# --cache with --test: the first run builds the training and test caches, a rerun with a new
# seed for the head reuses both (only the head runs) and scores the same way as without.
ft() { "$OT" train "$M" --data "$DATA" --test "$DATA" --freeze-upto /1/Elu --cut /3/Tanh --head dense:3 \
  --epochs 2 --seed "$1" "${@:2}" -o "$WORK/ft.onnx"; }
ft 1 --cache "$WORK/cache" >"$WORK/ft1.txt"
grep -q "cache: building .*test.otcache" "$WORK/ft1.txt" || fail "no test cache built: $(cat "$WORK/ft1.txt")"
ft 2 --cache "$WORK/cache" >"$WORK/ft2.txt"
grep -q "cache: reusing .*train.otcache" "$WORK/ft2.txt" || fail "train cache not reused: $(cat "$WORK/ft2.txt")"
grep -q "cache: reusing .*test.otcache" "$WORK/ft2.txt" || fail "test cache not reused: $(cat "$WORK/ft2.txt")"
ft 2 >"$WORK/ft2_plain.txt"
[ "$(grep '^test:' "$WORK/ft2.txt" | sed 's/loss [0-9.]*//')" = "$(grep '^test:' "$WORK/ft2_plain.txt" | sed 's/loss [0-9.]*//')" ] ||
  fail "test accuracy with and without the cache differ: $(grep '^test:' "$WORK/ft2.txt" "$WORK/ft2_plain.txt")"

"$OT" new flatten,dense:16:relu,batchnorm,dropout:0.2,dense:3,softmax --input x:8 --seed 3 -o "$WORK/new.onnx"
"$OT" info "$WORK/new.onnx" >"$WORK/new_info.txt"
grep -q "Softmax" "$WORK/new_info.txt" || fail "new: no softmax layer"
"$OT" train "$WORK/new.onnx" --data "$DATA" --epochs 2 -q -o "$WORK/new_trained.onnx"
expect_error "layer spec 'dense:x'" "$OT" new dense:x --input x:8 -o "$WORK/bad.onnx"
expect_error "add 'flatten' before it" "$OT" new conv:4:3x3,dense:3 --input x:1x8x8 -o "$WORK/bad.onnx"
expect_error "--init: 'zeros' is not an initializer" "$OT" new dense:3 --input x:8 --init zeros -o "$WORK/bad.onnx"
require_ort
sine_npy "$WORK/x.npy" 4 8
"$OT" run "$WORK/new_trained.onnx" -i x="$WORK/x.npy" -o "$WORK/ours"
ort_run "$WORK/new_trained.onnx" "$WORK/theirs" x="$WORK/x.npy"
out=$(ls "$WORK/ours")
npy_close "$WORK/ours/$out" "$WORK/theirs/$out" 1e-5 >/dev/null || fail "ONNX Runtime disagrees on the trained model"
echo ok
