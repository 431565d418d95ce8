#!/usr/bin/env node
/**
 * Checks that the benchmark's crop mode for human (human.mjs) reproduces the library: the face
 * tensor `human.detect` cuts from a photo goes through the replica, and age, gender and the top
 * emotion must match what `human.detect` itself reported for that face.
 *
 *   npm run build && node bench/peers/check-human.mjs [image ...]
 */
import path from 'node:path';
import { decodeRgb } from './datasets.mjs';
import { repoRoot } from './dist.mjs';
import { create } from './human.mjs';
import { rgbTensor3d, tf } from './tfjs.mjs';

const images = process.argv.slice(2);
if (!images.length) {
  for (const n of [1, 2, 3])
    images.push(path.join(repoRoot, `node_modules/@vladmandic/face-api/demo/sample${n}.jpg`));
}

const peer = await create();
let failures = 0;
for (const file of images) {
  const input = tf.expandDims(rgbTensor3d(await decodeRgb(file)), 0);
  const result = await peer.library.detect(input, { face: { detector: { return: true } } });
  tf.dispose(input);
  const face = result.face[0];
  if (!face?.tensor) {
    console.log(`${path.basename(file)}: no face found, skipped`);
    continue;
  }
  // the face tensor is RGB in 0..1: back to 8-bit pixels, the replica's input
  const [height, width] = face.tensor.shape;
  const pixels = Uint8Array.from(face.tensor.dataSync(), (v) => Math.round(v * 255));
  tf.dispose(face.tensor);
  const replica = peer.predict({ data: pixels, width, height }, ['age', 'gender', 'fer2013']);
  const top = (probs, labels) => labels[probs.indexOf(Math.max(...probs))];
  const checks = {
    age: [face.age ?? 0, replica.age, Math.abs((face.age ?? 0) - replica.age) <= 0.5],
    gender: [face.gender, top(replica.gender.probs, replica.gender.labels), undefined],
    emotion: [face.emotion?.[0]?.emotion, top(replica.fer2013.probs, replica.fer2013.labels), undefined],
  };
  for (const [name, [library, ours, ok]] of Object.entries(checks)) {
    const pass = ok ?? library === ours;
    if (!pass) failures++;
    console.log(
      `${path.basename(file)} ${name}: library ${library}, replica ${ours} ${pass ? 'ok' : 'MISMATCH'}`,
    );
  }
}
process.exit(failures ? 1 : 0);
