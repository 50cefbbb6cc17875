# One Caffe fixture net (tools/fixtures/gen_caffe_fixtures.py NET, generated into a temporary
# folder): our import run on it agrees with OpenCV's Caffe reader within 1e-4 of the output's
# scale, and our ONNX export run by ONNX Runtime agrees with OpenCV too.
#   bash tests/caffe/zoo.sh BUILD SRC NET
source "$(dirname "$0")/../cli/lib.sh"
NET=$3
require_ort
/usr/bin/python3 -c 'import cv2' 2>/dev/null || fail "OpenCV for /usr/bin/python3 is missing (python3-opencv; run tools/setup.sh)"
D="$WORK/$NET"
"$PY" "$SRC/tools/fixtures/gen_caffe_fixtures.py" "$NET" "$D"
# The reference: OpenCV, or Caffe's formulas in numpy where OpenCV departs from Caffe.
REF=OpenCV
if [ -d "$D/ref_numpy" ]; then mv "$D/ref_numpy" "$D/ref"; REF=numpy-formulas
else /usr/bin/python3 "$SRC/tools/fixtures/caffe_reference.py" "$D" "$D/ref"; fi
"$OT" run "$D/net.prototxt" --weights "$D/net.caffemodel" -i "data=$D/input.npy" -o "$D/ours" >/dev/null
"$PY" "$SRC/tools/fixtures/caffe_compare.py" "$D" "$D/ours" "$D/ref" 1e-4 "$NET ours-vs-$REF"
"$OT" convert "$D/net.prototxt" --weights "$D/net.caffemodel" -o "$D/net.onnx" >/dev/null
ort_run "$D/net.onnx" "$D/ort" "data=$D/input.npy" >/dev/null
"$PY" "$SRC/tools/fixtures/caffe_compare.py" "$D" "$D/ort" "$D/ref" 1e-4 "$NET ORT-on-export-vs-$REF"
if [ -f "$D/net.double.caffemodel" ]; then  # the same weights stored as doubles (OpenCV reads floats only)
  "$OT" run "$D/net.prototxt" --weights "$D/net.double.caffemodel" -i "data=$D/input.npy" -o "$D/double" >/dev/null
  "$PY" "$SRC/tools/fixtures/caffe_compare.py" "$D" "$D/double" "$D/ref" 1e-4 "$NET double-blobs-vs-$REF"
fi
echo "ok: $NET"
