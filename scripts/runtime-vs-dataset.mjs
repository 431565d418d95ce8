#!/usr/bin/env node
/**
 * Runtime vs dataset check: does the full pipeline (BlazeFace → eye-aligned crop → model) see faces
 * the way the training crops (`datasetCrop` with the contract's `datasetEyes`) do?
 *
 *   npm run build && nice node scripts/runtime-vs-dataset.mjs [--utk DIR] [--fer DIR] [--n 300] [--step 10]
 *     [--detector auto|front|back] [--precision int8|fp32] [--threads 1] [--calibrate cx,cy,d]
 *
 * UTKFace: a stable subset (every STEP-th file, sorted by name, the first N of those); prints age MAE
 * and gender/ethnicity accuracy for both ways, the detection rate, and the median eye geometry that
 * BlazeFace finds (fractions of the image size) next to the contract's datasetEyes.utkface.
 * FER2013: the same subset rule; images upscaled ×4 before detection; prints the detection rate
 * and median eye geometry next to datasetEyes.fer.
 * Reads datasets from the given folders (defaults: .cache/eval-data/{UTKFace,FER2013Valid}, extracted
 * from ../shared/data on first use by scripts/eval-data.mjs).
 */
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { AttributeModel, FaceDetector, datasetCrop, alignCrop, loadImage } from '../dist/index.js';
import { alignedCrops } from '../dist/pipeline/face.js';
import { evalDataDir } from './eval-data.mjs';

const { values: args } = parseArgs({
  options: {
    utk: { type: 'string' },
    fer: { type: 'string' },
    n: { type: 'string', default: '300' },
    step: { type: 'string', default: '10' },
    threads: { type: 'string', default: '1' },
    precision: { type: 'string', default: 'int8' },
    detector: { type: 'string', default: 'auto' },
    // "cx,cy,d": median BlazeFace eye geometry on UTKFace (from an earlier run); adds a row where
    // the detected eyes are mapped so that this geometry lands on datasetEyes.utkface.
    calibrate: { type: 'string' },
  },
});
args.utk ??= evalDataDir('UTKFace');
args.fer ??= evalDataDir('FER2013Valid');
const N = Number(args.n);
const STEP = Number(args.step);
const threads = Number(args.threads);

function subset(dir, pattern) {
  if (!existsSync(dir)) return null;
  return readdirSync(dir)
    .filter((name) => pattern.test(name))
    .sort()
    .filter((_, index) => index % STEP === 0)
    .slice(0, N);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const fmt = (value, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** Median eye geometry (fractions of the image side) of detections. */
function eyeGeometry(eyes, side) {
  const centreX = eyes.map(([r, l]) => (r[0] + l[0]) / 2 / side);
  const centreY = eyes.map(([r, l]) => (r[1] + l[1]) / 2 / side);
  const distance = eyes.map(([r, l]) => Math.hypot(l[0] - r[0], l[1] - r[1]) / side);
  const angle = eyes.map(([r, l]) => (Math.atan2(l[1] - r[1], l[0] - r[0]) * 180) / Math.PI);
  return {
    rightEye: [median(eyes.map(([r]) => r[0] / side)), median(eyes.map(([r]) => r[1] / side))],
    leftEye: [median(eyes.map(([, l]) => l[0] / side)), median(eyes.map(([, l]) => l[1] / side))],
    eyeCenter: [median(centreX), median(centreY)],
    eyeDistance: median(distance),
    angleDeg: median(angle),
  };
}

function printGeometry(label, geometry, contractEyes, count) {
  console.log(`\n${label}: median BlazeFace eyes on ${count} detected images (fractions of the image side)`);
  console.log(`  right eye (image left) ${fmt(geometry.rightEye[0])}, ${fmt(geometry.rightEye[1])}`);
  console.log(`  left eye               ${fmt(geometry.leftEye[0])}, ${fmt(geometry.leftEye[1])}`);
  console.log(
    `  eye centre             ${fmt(geometry.eyeCenter[0])}, ${fmt(geometry.eyeCenter[1])}   (contract: ${contractEyes.eyeCenter.join(', ')})`,
  );
  console.log(
    `  eye distance           ${fmt(geometry.eyeDistance)}          (contract: ${contractEyes.eyeDistance})`,
  );
  console.log(`  eye-line angle         ${fmt(geometry.angleDeg, 2)}°`);
}

/**
 * Eyes moved by the similarity that takes the measured median geometry onto the target geometry
 * (both as fractions of the image side), expressed in the face's own frame (so it follows its size
 * and roll).
 */
function calibratedEyes([right, left], measured, target) {
  const centre = [(right[0] + left[0]) / 2, (right[1] + left[1]) / 2];
  const along = [(left[0] - right[0]) / measured.eyeDistance, (left[1] - right[1]) / measured.eyeDistance];
  const across = [-along[1], along[0]]; // the face's "down" direction, one image side long
  const shift = [target.eyeCenter[0] - measured.eyeCenter[0], target.eyeCenter[1] - measured.eyeCenter[1]];
  const newCentre = [
    centre[0] + shift[0] * along[0] + shift[1] * across[0],
    centre[1] + shift[0] * along[1] + shift[1] * across[1],
  ];
  const half = target.eyeDistance / 2;
  return [
    [newCentre[0] - half * along[0], newCentre[1] - half * along[1]],
    [newCentre[0] + half * along[0], newCentre[1] + half * along[1]],
  ];
}

const calibration = args.calibrate?.split(',').map(Number);
const calibrationFrom = calibration && {
  eyeCenter: [calibration[0], calibration[1]],
  eyeDistance: calibration[2],
};

const largest = (detections) =>
  detections.reduce((best, d) => (!best || d.box.width > best.box.width ? d : best), undefined);

const model = await AttributeModel.create({ precision: args.precision, threads });
const detector = await FaceDetector.create({ threads, detector: args.detector });
const contract = model.contract;
const size = contract.input.size;
console.log(`model ${model.modelPath}, detector ${args.detector}`);

// ---------- UTKFace ----------
const utkFiles = subset(args.utk, /^\d+_\d_\d_\d+\.jpg\.chip\.jpg$/);
if (!utkFiles) console.log(`UTKFace: ${args.utk} not found, skipped`);
else {
  const rows = [];
  const eyes = [];
  for (const name of utkFiles) {
    const [age, gender, race] = name.split('_').map(Number);
    const image = await loadImage(join(args.utk, name));
    const detection = largest(await detector.detect(image));
    const crops = [datasetCrop(image, 'utkface', contract)];
    if (detection) {
      crops.push(alignedCrops(image, [detection], contract)[0]);
      eyes.push([detection.keypoints[0], detection.keypoints[1]]);
      if (calibrationFrom) {
        const [right, left] = calibratedEyes(
          [detection.keypoints[0], detection.keypoints[1]],
          calibrationFrom,
          contract.datasetEyes.utkface,
        );
        crops.push(alignCrop(image, right, left, size, contract.crop));
      }
    }
    const [fromDataset, fromPipeline, fromCalibrated] = await model.run(crops);
    rows.push({
      age,
      gender,
      race,
      side: image.width,
      fromDataset,
      fromPipeline,
      fromCalibrated,
      image,
      pipelineCrop: crops[1],
    });
  }
  const genders = contract.outputs.gender.labels;
  const races = contract.outputs.ethnicity.labels;
  const score = (subsetRows, key) => ({
    mae: subsetRows.reduce((s, r) => s + Math.abs(r[key].age.years - r.age), 0) / subsetRows.length,
    gender: subsetRows.filter((r) => r[key].gender.label === genders[r.gender]).length / subsetRows.length,
    ethnicity: subsetRows.filter((r) => r[key].ethnicity.label === races[r.race]).length / subsetRows.length,
  });
  const detected = rows.filter((r) => r.fromPipeline);
  const all = score(rows, 'fromDataset');
  const sameDataset = score(detected, 'fromDataset');
  const pipeline = score(detected, 'fromPipeline');
  console.log(`\nUTKFace: ${rows.length} images (every ${STEP}th of the sorted names), ${args.utk}`);
  console.log(
    `  detection rate (≥1 face)   ${fmt(detected.length / rows.length)}  (${detected.length}/${rows.length})`,
  );
  console.log('                               age MAE   gender acc   ethnicity acc');
  const line = (label, s) =>
    console.log(
      `  ${label.padEnd(28)} ${fmt(s.mae, 2).padStart(7)}   ${fmt(s.gender).padStart(10)}   ${fmt(s.ethnicity).padStart(13)}`,
    );
  line('datasetCrop, all images', all);
  line('datasetCrop, detected only', sameDataset);
  line('pipeline (detect→align)', pipeline);
  if (calibrationFrom) line('pipeline, calibrated eyes', score(detected, 'fromCalibrated'));
  const measured = eyeGeometry(eyes, rows[0]?.side ?? 200);
  printGeometry('UTKFace (200×200)', measured, contract.datasetEyes.utkface, eyes.length);
  // How far the runtime's crops are from the training crops, per pixel value (0–255), with the
  // contract's virtual eyes and with the measured median ones.
  const cropDistance = (geometry) => {
    const withEyes = { ...contract, datasetEyes: { ...contract.datasetEyes, utkface: geometry } };
    let total = 0;
    for (const row of detected) {
      const reference = datasetCrop(row.image, 'utkface', withEyes);
      let sum = 0;
      for (let i = 0; i < reference.length; i++) sum += Math.abs(reference[i] - row.pipelineCrop[i]);
      total += sum / reference.length;
    }
    return total / detected.length;
  };
  const measuredEyes = { eyeCenter: measured.eyeCenter, eyeDistance: measured.eyeDistance };
  console.log('  mean |pipeline crop − datasetCrop| per pixel value (0–255):');
  console.log(`    contract datasetEyes.utkface   ${fmt(cropDistance(contract.datasetEyes.utkface), 2)}`);
  console.log(`    measured median eyes           ${fmt(cropDistance(measuredEyes), 2)}`);
}

// ---------- FER2013 ----------
const ferFiles = subset(args.fer, /^fer\d+\.png$/);
if (!ferFiles) console.log(`FER: ${args.fer} not found, skipped`);
else {
  const UPSCALE = 4;
  const eyes = [];
  for (const name of ferFiles) {
    const bytes = await sharp(join(args.fer, name))
      .resize(48 * UPSCALE, 48 * UPSCALE, { kernel: 'cubic' })
      .png()
      .toBuffer();
    const image = await loadImage(bytes);
    const detection = largest(await detector.detect(image));
    if (detection) eyes.push([detection.keypoints[0], detection.keypoints[1]]);
  }
  console.log(`\nFER2013: ${ferFiles.length} images (every ${STEP}th), upscaled ×${UPSCALE}, ${args.fer}`);
  console.log(
    `  detection rate (≥1 face)   ${fmt(eyes.length / ferFiles.length)}  (${eyes.length}/${ferFiles.length})`,
  );
  if (eyes.length)
    printGeometry('FER2013 (48×48)', eyeGeometry(eyes, 48 * UPSCALE), contract.datasetEyes.fer, eyes.length);
}

await detector.dispose();
await model.dispose();
