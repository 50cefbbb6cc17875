# A Caffe model fine-tuned like an ONNX one: a CaffeNet-style net (tools/fixtures/
# gen_caffe_fixtures.py caffenet_small, random weights) read from .prototxt + .caffemodel,
# convolutions frozen and cached, cut after fc7, a new 4-way head trained on synthetic
# images; the export runs in ONNX Runtime with our outputs, and a rerun reads the cache.
source "$(dirname "$0")/lib.sh"
require_ort
D="$WORK/net"
"$PY" "$SRC/tools/fixtures/gen_caffe_fixtures.py" caffenet_small "$D"
# Four classes of 3x67x67 images: a bright square in one quadrant each, over noise.
"$PY" -c 'import sys, numpy as np
rng = np.random.default_rng(0)
for name, n in (("train", 160), ("test", 80)):
    y = np.arange(n) % 4
    x = rng.normal(0, 0.3, (n, 3, 67, 67)).astype(np.float32)
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, :, 8 + 30 * r:28 + 30 * r, 8 + 30 * q:28 + 30 * q] += 1.5
    np.savez(f"{sys.argv[1]}/{name}.npz", x=x, y=y.astype(np.int64))
np.save(f"{sys.argv[1]}/probe.npy", x[:4])' "$WORK"
train() {
  "$OT" train "$D/net.prototxt" --weights "$D/net.caffemodel" --data "npz:$WORK/train.npz" \
    --test "npz:$WORK/test.npz" --freeze-upto pool5 --cut drop7 --head dense:4 --cache "$WORK/cache" \
    --optimizer adam --lr 1e-3 --epochs 8 --batch 16 --seed 1 -o "$WORK/tuned.onnx" "$@"
}
train >"$WORK/first.txt" 2>&1 || fail "training failed: $(tail -3 "$WORK/first.txt")"
grep -q "test" "$WORK/first.txt" || fail "no test score: $(cat "$WORK/first.txt")"
acc=$(grep -o "test.*accuracy [0-9.]*" "$WORK/first.txt" | tail -1 | grep -o "[0-9.]*$")
awk -v a="$acc" 'BEGIN { exit !(a >= 0.6) }' || fail "test accuracy $acc after fine-tuning (expected >= 0.6)"
ls "$WORK/cache"/*.otcache >/dev/null || fail "no cache files"
# The frozen layers kept Caffe's weights, and the export runs the same in ONNX Runtime.
"$OT" convert "$D/net.prototxt" --weights "$D/net.caffemodel" -o "$WORK/converted.onnx" >/dev/null
"$PY" -c 'import sys, onnx, numpy as np
from onnx import numpy_helper
def weights(path):
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
a, b = weights(sys.argv[1]), weights(sys.argv[2])
for name in ("conv1.weight", "conv5.bias"):
    assert np.array_equal(a[name], b[name]), name + " changed"
assert not np.array_equal(a["fc6.weight"], b["fc6.weight"]), "fc6 did not train"' "$WORK/converted.onnx" "$WORK/tuned.onnx" ||
  fail "frozen Caffe weights changed, or trained ones did not"
"$OT" run "$WORK/tuned.onnx" -i "data=$WORK/probe.npy" -o "$WORK/ours" >/dev/null
ort_run "$WORK/tuned.onnx" "$WORK/ort" "data=$WORK/probe.npy" >/dev/null
for f in "$WORK/ours"/*.npy; do npy_close "$f" "$WORK/ort/$(basename "$f")" 1e-4 >/dev/null; done
# A rerun with another head size trains from the cache (the frozen convolutions do not run).
train --head dense:4 --lr 2e-3 >"$WORK/second.txt" 2>&1 || fail "rerun failed: $(tail -3 "$WORK/second.txt")"
grep -q "cache: reusing .*train.otcache" "$WORK/second.txt" || fail "the rerun did not report the cache: $(cat "$WORK/second.txt")"
echo "ok: fine-tuned a Caffe CaffeNet-style model (test accuracy $acc)"
