# mpirun -np 2 and -np 3 train the same model as one process does with the same global batch
# (ranks x --batch): within 1e-5 relative of that run, the reference (the one-process trainer
# is itself checked against PyTorch in unit.train_vs_torch). The MLP with SGD (a cosine
# schedule, counted in global steps) and Adam (clipped by the global gradient's norm); a
# LeNet-style CNN with Adam; the small CNN with BatchNorm trained with --sync-bn, whose statistics (running ones too) are the
# global batch's. 200 samples do not divide into the global batch of 12: the last is short, and
# with 3 ranks the third has no rows in it. Then the frozen-feature cache built by 3 ranks
# equals one process's, byte for byte, and one process and 2 ranks reuse it; and a 2-rank
# checkpoint resumed on 3 ranks ends where one process does.
. "$(dirname "$0")/lib.sh"
require_mpi
"$OT" new flatten,dense:64:elu,dense:10 --input x:1x28x28 --seed 3 -o "$WORK/mlp.onnx"
MLP=(train "$WORK/mlp.onnx" --data fashion-mnist:train --limit 200 --epochs 1 --seed 7 -q)
same_as_one_process() { # NAME ARGS...: one process with --batch 12, then 2 and 3 ranks
  local name=$1
  shift
  "$OT" "$@" --batch 12 -o "$WORK/one.onnx"
  for n in 2 3; do
    mpi_run $n "$@" --batch $((12 / n)) -o "$WORK/ranks.onnx"
    echo -n "$name, $n ranks: "
    weights_close "$WORK/ranks.onnx" "$WORK/one.onnx" 1e-5
  done
}
same_as_one_process "MLP, SGD" "${MLP[@]}" --optimizer sgd --lr 0.1 --schedule cosine:20
same_as_one_process "MLP, Adam" "${MLP[@]}" --optimizer adam --clip-norm 0.5
"$OT" new conv:8:5x5:1:2:relu,maxpool:2,conv:16:5x5:1:2:relu,maxpool:2,flatten,dense:10 --input x:1x28x28 \
  --seed 3 -o "$WORK/lenet.onnx"
same_as_one_process "LeNet CNN, Adam" train "$WORK/lenet.onnx" --data fashion-mnist:train --limit 200 --epochs 1 \
  --seed 7 -q --optimizer adam
CNN=(train "$SRC/models/fashion5.onnx" --data fashion-mnist:train --classes 5-9 --per-class 40 --cut relu3
  --head dense:5 --epochs 1 --seed 7)
same_as_one_process "CNN + BatchNorm, momentum, --sync-bn" "${CNN[@]}" -q --optimizer momentum --lr 0.05 --sync-bn

# The cache: 3 ranks build it; one process and 2 ranks reuse it.
CACHED=("${CNN[@]}" --freeze-upto flatten1 --optimizer adam)
"$OT" "${CACHED[@]}" --batch 12 --cache "$WORK/cache1" -o "$WORK/one.onnx" >"$WORK/one.out"
mpi_run 3 "${CACHED[@]}" --batch 4 --cache "$WORK/cache3" -o "$WORK/ranks.onnx" >"$WORK/ranks.out"
grep -q "every rank its share" "$WORK/ranks.out" || fail "3 ranks did not build the cache together: $(cat "$WORK/ranks.out")"
cmp "$WORK/cache1/train.otcache" "$WORK/cache3/train.otcache" || fail "the 3-rank cache differs from one process's"
echo "cache built by 3 ranks: identical to one process's ($(stat -c %s "$WORK/cache3/train.otcache") bytes)"
"$OT" "${CACHED[@]}" --batch 12 --cache "$WORK/cache3" -o "$WORK/reused.onnx" >"$WORK/reused.out"
mpi_run 2 "${CACHED[@]}" --batch 6 --cache "$WORK/cache3" -o "$WORK/reused2.onnx" >"$WORK/reused2.out"
grep -q "cache: reusing" "$WORK/reused.out" || fail "one process did not reuse the 3-rank cache"
grep -q "cache: reusing" "$WORK/reused2.out" || fail "2 ranks did not reuse the 3-rank cache"
cmp -s "$WORK/reused.onnx" "$WORK/one.onnx" || fail "training from the 3-rank cache differs from the one-process run"
echo -n "2 ranks from the 3-rank cache: "
weights_close "$WORK/reused2.onnx" "$WORK/one.onnx" 1e-5

# Resume: epoch 1 on 2 ranks, epoch 2 on 3 ranks, against 2 epochs on one process.
"$OT" "${MLP[@]}" --epochs 2 --optimizer adam --batch 6 -o "$WORK/one.onnx"
mpi_run 2 "${MLP[@]}" --optimizer adam --batch 3 --checkpoint "$WORK/ck.zip" -o "$WORK/first.onnx"
mpi_run 3 "${MLP[@]}" --epochs 2 --optimizer adam --batch 2 --checkpoint "$WORK/ck.zip" --resume -o "$WORK/ranks.onnx"
echo -n "2-rank checkpoint resumed on 3 ranks: "
weights_close "$WORK/ranks.onnx" "$WORK/one.onnx" 1e-5
echo ok
