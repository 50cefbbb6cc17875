#!/usr/bin/env node
// Scores a classifier with ONNX Runtime (the client users run exported models with) on IDX
// image/label files (gzip or raw), optionally keeping some classes relabelled 0..k-1 in order,
// exactly as `onnxtrain train --classes` does. Pixels become floats in [0,1], N x 1 x H x W.
//   node tools/ort_accuracy.js MODEL.onnx IMAGES.idx[.gz] LABELS.idx[.gz] [--classes 5-9]
// Prints {"accuracy": ..., "samples": ...}.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const ort = require(path.join(__dirname, '..', '.deps', 'node_modules', 'onnxruntime-node'));

function readIdx(file) {
  let b = fs.readFileSync(file);
  if (b[0] === 0x1f && b[1] === 0x8b) b = zlib.gunzipSync(b);
  const ndim = b[3], dims = [];
  for (let i = 0; i < ndim; i++) dims.push(b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * ndim) };
}

function parseClasses(text) {
  const out = [];
  for (const item of text.split(',')) {
    const [a, b] = item.split('-').map(Number);
    for (let c = a; c <= (b === undefined ? a : b); c++) out.push(c);
  }
  return out;
}

async function main() {
  const [model, imagesFile, labelsFile, flag, classText] = process.argv.slice(2);
  const images = readIdx(imagesFile), labels = readIdx(labelsFile);
  const classes = flag === '--classes' ? parseClasses(classText) : null;
  const [n, h, w] = images.dims, per = h * w;
  const keep = [];
  for (let i = 0; i < n; i++) {
    const label = labels.data[i];
    const mapped = classes ? classes.indexOf(label) : label;
    if (mapped >= 0) keep.push([i, mapped]);
  }
  const session = await ort.InferenceSession.create(model);
  let correct = 0;
  for (let start = 0; start < keep.length; start += 256) {
    const batch = keep.slice(start, start + 256);
    const x = new Float32Array(batch.length * per);
    batch.forEach(([i], r) => { for (let k = 0; k < per; k++) x[r * per + k] = images.data[i * per + k] / 255; });
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [batch.length, 1, h, w]) };
    const out = (await session.run(feeds))[session.outputNames[0]];
    const width = out.dims[1];
    batch.forEach(([, label], r) => {
      let best = 0;
      for (let c = 1; c < width; c++) if (out.data[r * width + c] > out.data[r * width + best]) best = c;
      if (best === label) correct++;
    });
  }
  console.log(JSON.stringify({ accuracy: correct / keep.length, samples: keep.length }));
}

main().catch(e => { console.error(`ort_accuracy: ${e.message}`); process.exit(1); });
