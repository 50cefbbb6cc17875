# Helpers for the CLI tests: each test script sources this, gets $OT (the binary), $SRC (the
# source tree), $WORK (a fresh temporary folder) and these functions. set -e is on.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
OT="$BUILD/onnxtrain"
FIX="$SRC/tests/fixtures"
WORK=$(mktemp -d /tmp/onnxtrain-cli-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error "words" CMD...: CMD must exit non-zero and print the words on stderr.
expect_error() {
  local words=$1; shift
  local status=0
  "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || status=$?
  [ "$status" -ne 0 ] || fail "expected failure: $*"
  grep -qF -- "$words" "$WORK/err.txt" || fail "expected '$words' in the error of: $* (got: $(cat "$WORK/err.txt"))"
  [ "$(wc -l <"$WORK/err.txt")" -le 3 ] || fail "error message too long for: $*"
}

# ONNX Runtime (node) when tools/setup.sh installed it.
have_ort() { [ -d "$SRC/.deps/node_modules/onnxruntime-node" ] && command -v node >/dev/null; }
ort_run() { node "$SRC/tools/ort_run.js" "$@"; }

# sine_npy FILE D0 D1 ...: a float32 .npy of that shape holding sin(0.7 i) (written in node).
sine_npy() {
  local file=$1
  shift
  node -e '
const fs=require("fs");const dims=process.argv.slice(2).map(Number);const n=dims.reduce((a,b)=>a*b,1);
const head=`{"descr": "<f4", "fortran_order": False, "shape": (${dims.join(", ")}${dims.length==1?",":""}), }`;
let h=head+" ".repeat(64-((10+head.length+1)%64))+"\n";const b=Buffer.alloc(10);b.write("\x93NUMPY",0,"latin1");b[6]=1;b.writeUInt16LE(h.length,8);
const x=new Float32Array(n).map((_,i)=>Math.sin(0.7*i));fs.writeFileSync(process.argv[1],Buffer.concat([b,Buffer.from(h,"latin1"),Buffer.from(x.buffer)]));' "$file" "$@"
}

# npy_close A.npy B.npy TOL: same shape, max |a-b| <= TOL (checked without numpy, in node).
npy_close() {
  node -e '
const fs=require("fs");
function rd(f){const b=fs.readFileSync(f);const hl=b.readUInt16LE(8);const h=b.toString("latin1",10,10+hl);
 const shape=/shape.:\s*\(([^)]*)\)/.exec(h)[1];const o=10+hl;const c=new Uint8Array(b.length-o);c.set(b.subarray(o));
 return {shape:shape.replace(/\s/g,""),data:new Float32Array(c.buffer)};}
const a=rd(process.argv[1]),b=rd(process.argv[2]),tol=Number(process.argv[3]);
if(a.shape!==b.shape){console.error("shapes differ: "+a.shape+" vs "+b.shape);process.exit(1);}
let worst=0;for(let i=0;i<a.data.length;i++){const d=Math.abs(a.data[i]-b.data[i]);if(!(d<=worst))worst=Math.max(worst,isNaN(d)?Infinity:d);}
if(!(worst<=tol)){console.error("largest difference "+worst+" > "+tol);process.exit(1);}
console.log("largest difference "+worst);' "$1" "$2" "$3"
}
