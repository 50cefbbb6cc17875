# Every command documents its flags; bad usage exits 2 with a one-line message.
. "$(dirname "$0")/lib.sh"
"$OT" --help >"$WORK/main.txt"
grep -q "commands:" "$WORK/main.txt" || fail "no command list"
for cmd in info run convert new train eval; do
  "$OT" "$cmd" --help >"$WORK/help.txt" || fail "$cmd --help exited non-zero"
  grep -q "usage: onnxtrain $cmd" "$WORK/help.txt" || fail "$cmd --help has no usage line"
done
"$OT" train --help >"$WORK/train.txt"
for flag in --freeze-upto --clip-norm --cache --resume --schedule --augment --unfreeze-every --tensorboard; do
  grep -q -- "$flag" "$WORK/train.txt" || fail "train --help lacks $flag"
done
for cmd in run eval train; do
  help=$("$OT" "$cmd" --help) # not piped into grep -q: its early exit would break the pipe
  grep -q -- "--fast-conv" <<<"$help" || fail "$cmd --help lacks --fast-conv"
done
status=0; "$OT" frobnicate 2>/dev/null || status=$?
[ "$status" -eq 2 ] || fail "unknown command should exit 2, got $status"
status=0; "$OT" info --bogus x.onnx 2>"$WORK/err.txt" || status=$?
[ "$status" -eq 2 ] && grep -q "unknown flag '--bogus'" "$WORK/err.txt" || fail "unknown flag"
for cmd in info run convert train eval; do
  help=$("$OT" "$cmd" --help)
  grep -q -- "--weights NET.caffemodel" <<<"$help" || fail "$cmd --help lacks --weights (Caffe)"
done
status=0; "$OT" info x.onnx --weights w.caffemodel 2>"$WORK/err.txt" || status=$?
[ "$status" -eq 2 ] && grep -q "weights goes with a Caffe network definition" "$WORK/err.txt" || fail "--weights without .prototxt"
echo ok
