# onnxtrain info --graph: ResNet18 (tools/make_resnet18_onnx.py, PyTorch's export layout) drawn
# by Graphviz has one node per layer (as many as `info --json` lists and the onnx package counts
# in the file), its frozen layers in the frozen style only; Chromium's screenshot is not blank.
# A fine-tuned model's new head and cut point are marked, the title names the model by its file
# name alone; .png and .dot work; bad names fail.
. "$(dirname "$0")/lib.sh"
R18="$BUILD/fixtures/resnet18.onnx"
if [ ! -s "$R18" ]; then
  mkdir -p "$BUILD/fixtures"
  "$PY" "$SRC/tools/make_resnet18_onnx.py" "$R18.tmp" && mv "$R18.tmp" "$R18"
fi
FREEZE=(--freeze-upto /layer3/layer3.1/relu_1/Relu)
"$OT" info "$R18" "${FREEZE[@]}" --json --graph "$WORK/r18.svg" >"$WORK/r18.json" 2>"$WORK/err.txt"
grep -qx "wrote $WORK/r18.svg" "$WORK/err.txt" || fail "info --graph: $(cat "$WORK/err.txt")"
screenshot "$WORK/r18.svg" "$WORK/shot.png" 1000 1400
"$PY" "$SRC/tools/check_pictures.py" graph "$WORK/r18.svg" "$WORK/shot.png" "$WORK/r18.json" "$R18"
grep -q ">layer3<" "$WORK/r18.svg" || fail "no cluster labelled layer3"

# A fine-tuned model: --cut relu then --head; the head green, only the cut point double-bordered.
"$OT" new dense:16:relu,dense:8:relu,dense:3 --input x:8 --seed 3 -o "$WORK/m.onnx" >/dev/null
awk 'BEGIN { for (i = 0; i < 60; i++) { printf "%d", i % 2; for (j = 0; j < 8; j++) printf ",%.3f", sin(i + j); print "" } }' >"$WORK/d.csv"
"$OT" train "$WORK/m.onnx" --data "csv:$WORK/d.csv" --freeze-upto 1 --cut 3 --head dense:2 --epochs 1 -q -o "$WORK/tuned.onnx"
"$OT" info "$WORK/tuned.onnx" --freeze-upto 1 --json --graph "$WORK/tuned.svg" >"$WORK/tuned.json" 2>/dev/null
"$PY" "$SRC/tools/check_pictures.py" graph "$WORK/tuned.svg" "$WORK/shot.png" "$WORK/tuned.json" "$WORK/tuned.onnx"
"$PY" "$SRC/tools/check_pictures.py" head "$WORK/tuned.svg" "$WORK/tuned.json" layer3
# The title names the model by its file name: the folder (here a temporary one) says nothing.
grep -q ">tuned.onnx: [0-9]* layers, " "$WORK/tuned.svg" || fail "the title should start with the model's file name"
! grep -qF "$WORK" "$WORK/tuned.svg" || fail "the picture names the model's folder $WORK"

"$OT" info "$WORK/tuned.onnx" --graph "$WORK/tuned.png" >/dev/null 2>&1
"$PY" -c 'import sys; from PIL import Image; assert Image.open(sys.argv[1]).format == "PNG"' "$WORK/tuned.png"
"$OT" info "$WORK/tuned.onnx" --graph "$WORK/tuned.dot" >/dev/null 2>&1
grep -q "^digraph model {" "$WORK/tuned.dot" || fail "the .dot output is not a Graphviz digraph"
cp "$WORK/tuned.svg" "$WORK/before.svg"
expect_error "--graph $WORK/g.pdf: the graph's name should end in .svg, .png or .dot" \
  "$OT" info "$WORK/tuned.onnx" --graph "$WORK/g.pdf"
expect_error "--graph: " "$OT" info "$WORK/tuned.onnx" --graph /proc/onnxtrain/g.svg
cmp -s "$WORK/tuned.svg" "$WORK/before.svg" || fail "a failed run changed an existing picture"
echo ok
