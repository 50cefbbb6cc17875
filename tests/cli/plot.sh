# onnxtrain plot: learning curves of train --log files. The SVG parses, holds one curve per
# series through every epoch's value (tools/check_pictures.py), and Chromium's screenshot of
# it is not blank; PNG output too; bad input is a one-line error that leaves -o alone.
. "$(dirname "$0")/lib.sh"
"$OT" new dense:16:relu,dense:3 --input x:8 --seed 3 -o "$WORK/m.onnx" >/dev/null
awk 'BEGIN { for (i = 0; i < 100; i++) { l = i % 3; printf "%d", l;
  for (j = 0; j < 8; j++) printf ",%.4f", sin(i * 7 + j * 3) + l * 0.3; print "" } }' >"$WORK/data.csv"
mkdir "$WORK/runs"
ARGS=(train "$WORK/m.onnx" --data "csv:$WORK/data.csv" --epochs 6 --batch 10 --seed 5 -q -o "$WORK/out.onnx")
"$OT" "${ARGS[@]}" --val-split 0.2 --log "$WORK/runs/adam.csv"
"$OT" "${ARGS[@]}" --val-split 0.2 --optimizer sgd --lr 0.1 --schedule cosine:60 --log "$WORK/runs/sgd.csv"
"$OT" "${ARGS[@]}" --log "$WORK/no_validation.csv"

"$OT" plot "$WORK/runs" -o "$WORK/curves.svg" | grep -x "wrote $WORK/curves.svg (2 runs)" >/dev/null || fail "plot DIR"
screenshot "$WORK/curves.svg" "$WORK/shot.png" 900 760
"$PY" "$SRC/tools/check_pictures.py" curves "$WORK/curves.svg" "$WORK/shot.png" "$WORK/runs/adam.csv" "$WORK/runs/sgd.csv"
"$OT" plot "$WORK/no_validation.csv" -o "$WORK/single.svg" >/dev/null
"$PY" "$SRC/tools/check_pictures.py" curves "$WORK/single.svg" "$WORK/shot.png" "$WORK/no_validation.csv"
# A log checked against the other run's picture fails: the check can tell curves apart.
if "$PY" "$SRC/tools/check_pictures.py" curves "$WORK/single.svg" "$WORK/shot.png" "$WORK/runs/adam.csv" 2>/dev/null; then
  fail "check_pictures.py accepted curves of another log"
fi

"$OT" plot "$WORK/runs/adam.csv" "$WORK/no_validation.csv" -o "$WORK/curves.png" >/dev/null
"$PY" -c 'import sys; from PIL import Image
im = Image.open(sys.argv[1]); assert im.format == "PNG" and im.size == (900, 760), (im.format, im.size)' "$WORK/curves.png"
"$PY" "$SRC/tools/check_pictures.py" screenshot "$WORK/curves.png"

# Errors: named, one line, exit 1 or 2, the existing picture untouched.
cp "$WORK/curves.svg" "$WORK/before.svg"
expect_error "-o curves.svg|png is required" "$OT" plot "$WORK/runs"
expect_error "-o $WORK/c.pdf: the picture's name should end in .svg or .png" "$OT" plot "$WORK/runs" -o "$WORK/c.pdf"
expect_error "$WORK/data.csv: no 'epoch' column" "$OT" plot "$WORK/data.csv" -o "$WORK/curves.svg"
expect_error "$WORK/missing.csv: cannot open" "$OT" plot "$WORK/missing.csv" -o "$WORK/curves.svg"
head -c 150 "$WORK/runs/adam.csv" >"$WORK/torn.csv"
expect_error "$WORK/torn.csv: line 2" "$OT" plot "$WORK/torn.csv" -o "$WORK/curves.svg"
printf 'epoch,train_loss\n1,abc\n' >"$WORK/text.csv"
expect_error "column 'train_loss': 'abc' is not a number" "$OT" plot "$WORK/text.csv" -o "$WORK/curves.svg"
mkdir "$WORK/empty"
expect_error "$WORK/empty: a folder without .csv logs" "$OT" plot "$WORK/empty" -o "$WORK/curves.svg"
cmp -s "$WORK/curves.svg" "$WORK/before.svg" || fail "a failed plot changed the existing picture"
echo ok
