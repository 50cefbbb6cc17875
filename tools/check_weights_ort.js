#!/usr/bin/env node
// Acceptance check for `onnxtrain convert` weights import/export, against ONNX Runtime:
//  1. each weights file of tests/fixtures/weights (PyTorch state_dict, nested checkpoint,
//     numpy .npz, safetensors, Keras 2 .h5 in both layouts) converted with --strict into the
//     zeroed architecture cnn_zero.onnx gives ONNX Runtime outputs equal to PyTorch's
//     (output.npy) within 1e-5; the zeroed model itself must NOT (so the check can fail);
//  2. cnn.onnx -> .npz / .safetensors -> --arch cnn_zero.onnx gives the same outputs, and the
//     written files are readable by numpy.load and by a reader written from the safetensors
//     spec in Python (when /usr/bin/python3 with numpy and onnx is there).
//   node tools/check_weights_ort.js [BUILD_DIR]      (default: build)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const ort = require(path.join(__dirname, '..', '.deps', 'node_modules', 'onnxruntime-node'));

const root = path.join(__dirname, '..');
const build = path.resolve(process.argv[2] || path.join(root, 'build'));
const cli = path.join(build, 'onnxtrain');
const fixtures = path.join(root, 'tests', 'fixtures', 'weights');
const fx = (name) => path.join(fixtures, name);
const TOLERANCE = 1e-5;
let failures = 0;

function readNpyFloat32(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(`${file}: expected a C-order float32 .npy`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const bytes = buf.subarray(10 + headerLen);
  const data = new Float32Array(bytes.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(4 * i);
  return { shape, data };
}

function run(args) {
  const r = spawnSync(cli, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnxtrain ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

async function maxDiff(model, input, expected) {
  const session = await ort.InferenceSession.create(model);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, input.shape) };
  const out = (await session.run(feeds))[session.outputNames[0]];
  if (out.data.length !== expected.data.length) throw new Error(`${model}: ${out.data.length} outputs`);
  let worst = 0;
  for (let i = 0; i < out.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - expected.data[i]));
  return worst;
}

function report(label, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${detail}`);
  if (!ok) failures++;
}

const PYTHON_CHECK = `
import json, struct, sys
import numpy as np, onnx
from onnx import numpy_helper
model, npz, st = sys.argv[1:4]
inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(model).graph.initializer}
z = np.load(npz)
assert sorted(z.keys()) == sorted(inits), (sorted(z.keys()), sorted(inits))
for k, v in inits.items():
    assert z[k].dtype == v.dtype and z[k].shape == v.shape and np.array_equal(z[k], v), k
# safetensors, read by the spec: u64 LE header size, JSON, offsets relative to the data,
# tensors tiling the data exactly, header padded with spaces to 8 bytes.
raw = open(st, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
assert n % 8 == 0 and n <= len(raw) - 8
header = json.loads(raw[8:8 + n].decode('utf-8'))
data = raw[8 + n:]
assert list(header) == sorted(header), 'keys not sorted'
codes = {'F32': np.float32, 'I64': np.int64}
spans = sorted(tuple(h['data_offsets']) for h in header.values())
assert spans[0][0] == 0 and spans[-1][1] == len(data)
assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), 'not contiguous'
for k, h in header.items():
    b, e = h['data_offsets']
    arr = np.frombuffer(data[b:e], dtype=codes[h['dtype']]).reshape(h['shape'])
    assert np.array_equal(arr, inits[k]), k
print(len(inits))
`;

async function main() {
  if (!fs.existsSync(cli)) throw new Error(`${cli} not found (build first, or pass BUILD_DIR)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxtrain-weights-'));
  const input = readNpyFloat32(fx('input.npy'));
  const expected = readNpyFloat32(fx('output.npy'));

  const zero = await maxDiff(fx('cnn_zero.onnx'), input, expected);
  report('zeroed architecture differs from PyTorch', zero > 1e-3, `max |diff| ${zero.toExponential(3)}`);

  const sources = ['cnn_state.pt', 'cnn_nested.pt', 'cnn.npz', 'cnn.safetensors', 'cnn_keras.h5',
                   'cnn_keras_weights.h5'];
  for (const source of sources) {
    const out = path.join(tmp, `${source}.onnx`);
    run(['convert', fx(source), '--arch', fx('cnn_zero.onnx'), '-o', out, '--strict']);
    const diff = await maxDiff(out, input, expected);
    report(`${source} -> cnn_zero.onnx`, diff <= TOLERANCE, `max |diff| vs PyTorch ${diff.toExponential(3)}`);
  }

  const npz = path.join(tmp, 'cnn.npz'), st = path.join(tmp, 'cnn.safetensors');
  run(['convert', fx('cnn.onnx'), '-o', npz]);
  run(['convert', fx('cnn.onnx'), '-o', st]);
  for (const file of [npz, st]) {
    const out = `${file}.onnx`;
    run(['convert', file, '--arch', fx('cnn_zero.onnx'), '-o', out, '--strict']);
    const diff = await maxDiff(out, input, expected);
    report(`cnn.onnx -> ${path.basename(file)} -> onnx`, diff <= TOLERANCE, `max |diff| vs PyTorch ${diff.toExponential(3)}`);
  }
  if (fs.existsSync('/usr/bin/python3')) {
    const r = spawnSync('/usr/bin/python3', ['-c', PYTHON_CHECK, fx('cnn.onnx'), npz, st], { encoding: 'utf8' });
    report('numpy.load and a spec-written safetensors reader read our files', r.status === 0,
           r.status === 0 ? `${r.stdout.trim()} tensors equal to the ONNX initializers` : r.stderr.trim());
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e.message); process.exit(1); });
