# Token data through the command line, on the PyTorch-exported sequence fixtures: a BERT-style
# classifier fed ids and an attention mask from named npz arrays, a GPT-style model with
# per-token labels and ignored positions; warm-up, linear decay, accumulation; the export runs
# in ONNX Runtime like ours; bad token data is an error naming the array, before training.
. "$(dirname "$0")/lib.sh"
SEQ="$FIX/sequence"
BERT="npz:$SEQ/bert_data.npz:x=input_ids,y=labels,attention_mask=attention_mask"
GPT="npz:$SEQ/gpt_data.npz:x=input_ids,y=labels"

"$OT" train "$SEQ/bert_op17.onnx" --data "$BERT" --optimizer adamw --lr 1e-3 --warmup 2 --schedule linear:12 \
  --epochs 2 --batch 4 -o "$WORK/bert.onnx" >"$WORK/bert.txt" 2>&1 || fail "bert: $(cat "$WORK/bert.txt")"
"$OT" eval "$WORK/bert.onnx" --data "$BERT" >"$WORK/eval.txt" || fail "eval of the trained bert"
grep -q "samples 24" "$WORK/eval.txt" || fail "eval: $(cat "$WORK/eval.txt")"

"$OT" train "$SEQ/gpt_op17.onnx" --data "$GPT" --accumulate 2 --batch 4 --epochs 2 --label-smoothing 0.1 \
  -o "$WORK/gpt.onnx" >"$WORK/gpt.txt" 2>&1 || fail "gpt: $(cat "$WORK/gpt.txt")"
# The exported model runs in ONNX Runtime as in onnxtrain.
require_ort
"$PY" -c "import numpy as np; np.save('$WORK/ids.npy', np.load('$SEQ/gpt_data.npz')['input_ids'][:6])"
"$OT" run "$WORK/gpt.onnx" -i input_ids="$WORK/ids.npy" -o "$WORK/ours" >/dev/null
ort_run "$WORK/gpt.onnx" "$WORK/ort" input_ids="$WORK/ids.npy" >/dev/null
npy_close "$WORK/ours/logits.npy" "$WORK/ort/logits.npy" 1e-4 >/dev/null || fail "trained gpt: onnxtrain and ONNX Runtime disagree"

# Bad token data: each an error naming the array, before any training step.
"$PY" - "$SEQ" "$WORK" <<'EOF'
import sys, numpy as np
seq, work = sys.argv[1], sys.argv[2]
d = dict(np.load(f"{seq}/bert_data.npz"))
ids = d["input_ids"].copy(); ids[3, 2] = 60
np.savez(f"{work}/bad_ids.npz", **{**d, "input_ids": ids})
np.savez(f"{work}/bad_mask.npz", **{**d, "attention_mask": np.ones((24, 9), np.int64)})
labels = d["labels"].copy(); labels[5] = 3
np.savez(f"{work}/bad_labels.npz", **{**d, "labels": labels})
long = np.tile(d["input_ids"], (1, 3))
np.savez(f"{work}/long.npz", **{**d, "input_ids": long, "attention_mask": np.ones_like(long)})
g = dict(np.load(f"{seq}/gpt_data.npz"))
labels = g["labels"].copy(); labels[2, 4] = 50
np.savez(f"{work}/bad_tokens.npz", **{**g, "labels": labels})
EOF
spec() { echo "npz:$WORK/$1:x=input_ids,y=labels,attention_mask=attention_mask"; }
expect_error "data array 'input_ids' holds token id 60 at sample 3 (position 2), outside embedding 'tok.weight' of 50 rows" \
  "$OT" train "$SEQ/bert_op17.onnx" --data "$(spec bad_ids.npz)" -o "$WORK/m.onnx"
expect_error "data array 'attention_mask' has 9 along dim" \
  "$OT" train "$SEQ/bert_op17.onnx" --data "$(spec bad_mask.npz)" -o "$WORK/m.onnx"
expect_error "label 3 of sample 5 is out of range for an output of 3 values" \
  "$OT" train "$SEQ/bert_op17.onnx" --data "$(spec bad_labels.npz)" -o "$WORK/m.onnx"
expect_error "label 50 at position 4 of sample 2 is out of range for 50 classes and is not the ignore index" \
  "$OT" train "$SEQ/gpt_op17.onnx" --data "npz:$WORK/bad_tokens.npz:x=input_ids,y=labels" -o "$WORK/m.onnx"
expect_error "pos.weight" \
  "$OT" train "$SEQ/bert_op17.onnx" --data "$(spec long.npz)" -o "$WORK/m.onnx"
expect_error "the model has 2 inputs no data array feeds ('input_ids', 'attention_mask')" \
  "$OT" train "$SEQ/bert_op17.onnx" --data "npz:$SEQ/bert_data.npz:x=input_ids,y=labels" -o "$WORK/m.onnx"
expect_error "model input 'attention_mask' is not fed" \
  "$OT" train "$SEQ/bert_op17.onnx" --data "npz:$SEQ/bert_data.npz:x=input_ids,y=labels" --input input_ids -o "$WORK/m.onnx"
expect_error "data array 'attention_mask' is given for input 'mask', but the model has no input of that name" \
  "$OT" train "$SEQ/bert_op17.onnx" --data "npz:$SEQ/bert_data.npz:x=input_ids,y=labels,mask=attention_mask" -o "$WORK/m.onnx"
[ ! -e "$WORK/m.onnx" ] || fail "a refused run wrote its output"

# eval's per-token loss and accuracy (ignored labels left out) against ONNX Runtime's logits
# scored in numpy.
"$OT" eval "$SEQ/gpt_op17.onnx" --data "$GPT" --json >"$WORK/eval.json"
"$PY" - "$SEQ" "$WORK/eval.json" <<'PYEOF' || fail "gpt eval disagrees with ONNX Runtime + numpy"
import json, sys, numpy as np, onnxruntime as ort
seq, ours = sys.argv[1], json.load(open(sys.argv[2]))
d = np.load(f"{seq}/gpt_data.npz")
logits = ort.InferenceSession(f"{seq}/gpt_op17.onnx").run(None, {"input_ids": d["input_ids"]})[0].astype(np.float64)
y = d["labels"]; kept = y != -100
top = logits.max(-1, keepdims=True)
nll = (np.log(np.exp(logits - top).sum(-1)) + top[..., 0]) - np.take_along_axis(logits, np.where(kept, y, 0)[..., None], -1)[..., 0]
loss, acc = nll[kept].mean(), (logits.argmax(-1) == y)[kept].mean()
print(f"ours {ours['loss']:.7f} {ours['accuracy']:.7f}, ORT + numpy {loss:.7f} {acc:.7f}")
sys.exit(0 if abs(ours["loss"] - loss) < 1e-5 and abs(ours["accuracy"] - acc) < 1e-9 else 1)
PYEOF
