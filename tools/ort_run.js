#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node, installed by tools/setup.sh into
// .deps/) on .npy inputs and writes every output as OUTDIR/<name>.npy - the client our users
// run exported models with, used by the tests to check what we export.
//   node tools/ort_run.js MODEL.onnx OUTDIR NAME=FILE.npy [NAME=FILE.npy ...]
//   node tools/ort_run.js --accuracy MODEL.onnx IMAGES.npy LABELS.npy   (prints accuracy)
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', '.deps', 'node_modules', 'onnxruntime-node'));

const DTYPES = { '<f4': ['float32', Float32Array], '<i8': ['int64', BigInt64Array], '|b1': ['bool', Uint8Array],
                 '<f8': ['float64', Float64Array], '<i4': ['int32', Int32Array], '|u1': ['uint8', Uint8Array] };

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /['"]descr['"]:\s*['"]([^'"]+)['"]/.exec(header)[1];
  if (/['"]fortran_order['"]:\s*True/.test(header)) throw new Error(`${file}: Fortran order not supported`);
  const shape = /['"]shape['"]:\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const [type, Array_] = DTYPES[descr] || (() => { throw new Error(`${file}: dtype ${descr}`); })();
  const offset = start + headerLen;
  const bytes = buf.subarray(offset);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const data = new Array_(copy.buffer, 0, bytes.length / Array_.BYTES_PER_ELEMENT);
  return new ort.Tensor(type, type === 'bool' ? Uint8Array.from(data) : data, shape);
}

function writeNpy(file, tensor) {
  const descr = { float32: '<f4', int64: '<i8', bool: '|b1', float64: '<f8', int32: '<i4', uint8: '|u1' }[tensor.type];
  if (!descr) throw new Error(`output type ${tensor.type} cannot be written`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const args = process.argv.slice(2);
  const options = { graphOptimizationLevel: 'all' };
  if (process.env.ORT_THREADS) options.intraOpNumThreads = Number(process.env.ORT_THREADS);
  if (args[0] === '--accuracy') {
    const session = await ort.InferenceSession.create(args[1], options);
    const x = readNpy(args[2]), y = readNpy(args[3]);
    const batch = 256, per = x.dims.slice(1).reduce((a, b) => a * b, 1);
    let correct = 0;
    for (let i = 0; i < x.dims[0]; i += batch) {
      const n = Math.min(batch, x.dims[0] - i);
      const t = new ort.Tensor('float32', x.data.subarray(i * per, (i + n) * per), [n, ...x.dims.slice(1)]);
      const out = (await session.run({ [session.inputNames[0]]: t }))[session.outputNames[0]];
      const classes = out.dims[1];
      for (let r = 0; r < n; r++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (out.data[r * classes + c] > out.data[r * classes + best]) best = c;
        if (BigInt(best) === BigInt(y.data[i + r])) correct++;
      }
    }
    console.log(JSON.stringify({ accuracy: correct / x.dims[0], samples: x.dims[0] }));
    return;
  }
  const [model, outDir, ...inputs] = args;
  const session = await ort.InferenceSession.create(model, options);
  const feeds = {};
  for (const spec of inputs) {
    const eq = spec.indexOf('=');
    feeds[spec.slice(0, eq)] = readNpy(spec.slice(eq + 1));
  }
  const repeat = Number(process.env.ORT_REPEAT || 1);
  let results;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) results = await session.run(feeds);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / repeat;
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames)
    writeNpy(path.join(outDir, name.replace(/[\/\\:]/g, '_') + '.npy'), results[name]);
  if (process.env.ORT_REPEAT) console.log(JSON.stringify({ ms_per_run: ms }));
}

main().catch(e => { console.error(`ort_run: ${e.message}`); process.exit(1); });
