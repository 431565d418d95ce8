// Records what the pipeline finds on face-api's sample photos — boxes, keypoints, scores and the
// attribute model's raw outputs — as test/fixtures/detections.json, so that a faster pipeline
// can be checked against it (test/detections-fixture.test.ts: boxes and eyes within 1 px).
//
//   node scripts/detection-fixture.mjs [distDir] [out.json]
//
// distDir defaults to ./dist (build first); pass another build to record an older pipeline.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const distDir = resolve(process.argv[2] ?? 'dist');
const outFile = process.argv[3] ?? 'test/fixtures/detections.json';
const { FaceAnalyzer } = await import(pathToFileURL(`${distDir}/index.js`).href);

const PHOTOS = [1, 2, 3, 4, 5, 6].map((n) => `node_modules/@vladmandic/face-api/demo/sample${n}.jpg`);
/** The default accurate path and the fast webcam path. */
const CONFIGS = { auto: { threads: 1 }, front: { detector: 'front', threads: 1 } };
const MODEL = 'models/facemtl-int8.onnx';

const round = (value) => Math.round(value * 1e4) / 1e4;
// The raw outputs belong to this model file: the test compares them only while it is shipped.
const modelSha256 = createHash('sha256').update(readFileSync(MODEL)).digest('hex');
const result = { model: MODEL, modelSha256, configs: CONFIGS, photos: {} };
for (const [name, options] of Object.entries(CONFIGS)) {
  const analyzer = await FaceAnalyzer.create({ ...options, modelPath: MODEL });
  for (const photo of PHOTOS) {
    const { width, height, faces } = await analyzer.analyze(readFileSync(photo));
    result.photos[photo] ??= {};
    result.photos[photo][name] = {
      width,
      height,
      faces: faces.map((face) => ({
        box: face.box,
        score: face.score,
        landmarks: face.landmarks,
        raw: Object.fromEntries(Object.entries(face.raw).map(([key, values]) => [key, values.map(round)])),
      })),
    };
  }
  await analyzer.dispose();
}
const { format } = await import('prettier'); // the repository's style, so lint passes
writeFileSync(outFile, await format(JSON.stringify(result), { parser: 'json' }));
console.log(`wrote ${outFile}`);
