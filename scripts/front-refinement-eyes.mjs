// Does the front detector's close-up refinement earn its cost? On webcam-style 640×480 frames
// (one face, framed like the bench's, for each sample face; and two five-face frames), the eyes of
// the front detector with and without refinement, for two builds, against the accurate path's
// (back model + refinement, of the reference build): error = the larger eye distance between the
// two, divided by the reference's eye distance.
//
//   node scripts/front-refinement-eyes.mjs <reference dist> <new dist>
//
// e.g. a build of the commit before a change (copied to /tmp/before/dist, with node_modules linked)
// against ./dist.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const load = (dir, file) => import(pathToFileURL(resolve(dir, file)).href);
const [oldDir = 'dist', newDir = 'dist'] = process.argv.slice(2);
const OLD = await load(oldDir, 'index.js');
const NEW = await load(newDir, 'index.js');
const { fiveFaceFrame, oneFaceFrame, samplePhotos } = await load(oldDir, 'bench/frames.js');
const det = await OLD.FaceDetector.create({ threads: 1 });
const best = [],
  second = [];
for (const photo of samplePhotos()) {
  const image = await OLD.loadImage(photo);
  const [a, b] = await det.detect(image);
  if (a) best.push({ photo, width: image.width, height: image.height, face: a.box });
  if (b) second.push({ photo, width: image.width, height: image.height, face: b.box });
}
const d = [...best, ...second];
const frames = [];
for (const s of d) frames.push(await OLD.loadImage(await oneFaceFrame(s)));
frames.push(await OLD.loadImage(await fiveFaceFrame(d)));
frames.push(await OLD.loadImage(await fiveFaceFrame(d.slice(5).concat(d))));
const err = (a, b) => {
  const iod = Math.hypot(b.keypoints[1][0] - b.keypoints[0][0], b.keypoints[1][1] - b.keypoints[0][1]);
  return (
    Math.max(
      Math.hypot(a.keypoints[0][0] - b.keypoints[0][0], a.keypoints[0][1] - b.keypoints[0][1]),
      Math.hypot(a.keypoints[1][0] - b.keypoints[1][0], a.keypoints[1][1] - b.keypoints[1][1]),
    ) / iod
  );
};
const iou = (a, b) => {
  const l = Math.max(a.x, b.x),
    t = Math.max(a.y, b.y),
    r = Math.min(a.x + a.width, b.x + b.width),
    bt = Math.min(a.y + a.height, b.y + b.height);
  const i = Math.max(0, r - l) * Math.max(0, bt - t);
  return i / (a.width * a.height + b.width * b.height - i);
};
const ref = await OLD.FaceDetector.create({ threads: 1 });
const variants = {
  reference_front: await OLD.FaceDetector.create({ threads: 1, detector: 'front' }),
  reference_front_norefine: await OLD.FaceDetector.create({ threads: 1, detector: 'front', refine: false }),
  new_front: await NEW.FaceDetector.create({ threads: 1, detector: 'front' }),
  new_front_norefine: await NEW.FaceDetector.create({ threads: 1, detector: 'front', refine: false }),
};
const errs = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
let refs = 0;
for (const img of frames) {
  const R = await ref.detect(img);
  refs += R.length;
  for (const [k, v] of Object.entries(variants)) {
    const F = await v.detect(img);
    for (const r of R) {
      const f = F.find((x) => iou(x.box, r.box) > 0.3);
      if (f) errs[k].push(err(f, r));
    }
  }
}
const mean = (a) => (a.reduce((s, x) => s + x, 0) / a.length).toFixed(3);
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1].toFixed(3);
console.log(
  `${frames.length} webcam-style 640x480 frames, ${refs} faces found by the accurate path (reference)`,
);
for (const [k, a] of Object.entries(errs))
  console.log(`${k}: found ${a.length}/${refs}, eye error / eye distance: mean ${mean(a)}, median ${med(a)}`);
