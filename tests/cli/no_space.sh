# A read-only or full output folder is an error before training starts, for every file train
# writes (-o, --checkpoint, --log, --cache): the data spec below does not exist, so an error
# about the output proves it came first. A write that fails on a full disk leaves the
# previous file untouched, and devices are never replaced by output files.
. "$(dirname "$0")/lib.sh"
M="$FIX/train/mlp.onnx"
NODATA="csv:$WORK/no-such-data.csv"

# Read-only: /sys refuses new files, even to root.
expect_error "-o: /sys/m.onnx: cannot create a temporary file next to it" \
  "$OT" train "$M" --data "$NODATA" -o /sys/m.onnx
expect_error "--checkpoint: /sys/ck.zip: cannot create a temporary file next to it" \
  "$OT" train "$M" --data "$NODATA" -o "$WORK/m.onnx" --checkpoint /sys/ck.zip
expect_error "--log: /sys/log.csv: cannot create a temporary file next to it" \
  "$OT" train "$M" --data "$NODATA" -o "$WORK/m.onnx" --log /sys/log.csv
expect_error "--cache: /sys/cache: cannot create folder" \
  "$OT" train "$M" --data "$NODATA" -o "$WORK/m.onnx" --cache /sys/cache
[ ! -e "$WORK/m.onnx" ] || fail "a refused run wrote its output"

# A device where the output goes is refused, not replaced (rename would swap it for a file).
mknod "$WORK/device.onnx" c 1 3
expect_error "device.onnx exists and is not a regular file" "$OT" convert "$M" -o "$WORK/device.onnx"
expect_error "device.onnx exists and is not a regular file" "$OT" train "$M" --data "$NODATA" -o "$WORK/device.onnx"
[ -c "$WORK/device.onnx" ] || fail "the device node was replaced"

# Small filesystems: a read-only one and a 256 KiB one that we fill.
if ! mkdir -p "$WORK/ro" "$WORK/full" || ! mount -t tmpfs -o ro,size=64k tmpfs "$WORK/ro" 2>/dev/null; then
  echo "note: mounting a tmpfs is not permitted here: read-only mount and disk-full checks skipped"
  echo ok
  exit 0
fi
trap 'umount "$WORK/ro" "$WORK/full" 2>/dev/null; rm -rf "$WORK"' EXIT
mount -t tmpfs -o size=256k tmpfs "$WORK/full"
expect_error "-o: $WORK/ro/m.onnx: cannot create a temporary file next to it: Read-only file system" \
  "$OT" train "$M" --data "$NODATA" -o "$WORK/ro/m.onnx"
expect_error "--checkpoint: $WORK/ro/ck.zip: cannot create a temporary file next to it: Read-only file system" \
  "$OT" train "$M" --data "$NODATA" -o "$WORK/m.onnx" --checkpoint "$WORK/ro/ck.zip"

# Room for small files, not for a 4 MiB model: refused once the model is known, before data.
"$OT" new flatten,dense:1024:relu,dense:3 --input x:1024 -o "$WORK/big.onnx"
expect_error "-o $WORK/full/m.onnx: its folder has 0.2 MiB free, the file needs at least 4.0 MiB" \
  "$OT" train "$WORK/big.onnx" --data "$NODATA" -o "$WORK/full/m.onnx"
expect_error "--checkpoint $WORK/full/ck.zip: its folder has 0.2 MiB free" \
  "$OT" train "$WORK/big.onnx" --data "$NODATA" -o "$WORK/m.onnx" --checkpoint "$WORK/full/ck.zip"

# A previous model in the folder survives a convert that runs out of space mid-write.
"$OT" convert "$M" -o "$WORK/full/keep.onnx" >/dev/null
cp "$WORK/full/keep.onnx" "$WORK/keep_before.onnx"
expect_error "No space left on device" "$OT" convert "$WORK/big.onnx" -o "$WORK/full/keep.onnx"
cmp -s "$WORK/full/keep.onnx" "$WORK/keep_before.onnx" || fail "a failed write changed the previous file"
[ -z "$(ls -A "$WORK/full" | grep -v '^keep.onnx$')" ] || fail "temporary files left behind: $(ls -A "$WORK/full")"

# Full: not even the 4 KiB probe fits. Every output flag says so before work starts.
dd if=/dev/zero of="$WORK/full/fill" bs=4k 2>/dev/null || true
for flag in -o --checkpoint --log; do
  out="$WORK/m.onnx"; [ "$flag" = -o ] && out="$WORK/full/x"
  extra=(); [ "$flag" != -o ] && extra=("$flag" "$WORK/full/x")
  expect_error "$flag: $WORK/full/x: cannot" "$OT" train "$M" --data "$NODATA" -o "$out" "${extra[@]}"
  grep -qE "No space left on device|cannot create a temporary file" "$WORK/err.txt" || fail "$flag: $(cat "$WORK/err.txt")"
done
expect_error "--cache: $WORK/full/cache" "$OT" train "$M" --data "$NODATA" -o "$WORK/m.onnx" --cache "$WORK/full/cache"
cmp -s "$WORK/full/keep.onnx" "$WORK/keep_before.onnx" || fail "the previous file changed"
echo ok
