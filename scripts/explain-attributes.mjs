#!/usr/bin/env node
/**
 * Where each yes/no attribute head looks: occlusion maps of every attribute for the faces of a few
 * photos, as one small grid PNG per photo (rows: faces; columns: the crop, then one overlay per
 * attribute, captioned with its decision and probability), and a markdown report on stdout: per
 * face and attribute the decision and the share of the map in the eye, nose and mouth bands, then
 * per attribute the mean shares over the faces where it is present.
 *
 *   npm run build && node scripts/explain-attributes.mjs --out docs/explain \
 *     node_modules/@vladmandic/face-api/demo/sample1.jpg node_modules/@vladmandic/face-api/demo/screenshot-webcam.png
 *
 * Options: --out DIR (default docs/explain), --max-faces N per photo (default 4), --threads N
 * (default 1), --model PATH (default the shipped INT8 model).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { explanationPng, FaceAnalyzer, loadImage, occlusionMaps, regionShares } from '../dist/index.js';

const { values, positionals: images } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', default: 'docs/explain' },
    'max-faces': { type: 'string', default: '4' },
    threads: { type: 'string', default: '1' },
    model: { type: 'string' },
  },
});
if (images.length === 0) {
  console.error('usage: node scripts/explain-attributes.mjs [--out DIR] [--max-faces N] IMAGE…');
  process.exit(2);
}

const SCALE = 2; // 64 px crops → 128 px tiles
const analyzer = await FaceAnalyzer.create({
  modelPath: values.model,
  threads: Number(values.threads),
  maxFaces: Number(values['max-faces']),
});
const binary = analyzer.contract.outputs.attributes;
if (binary?.kind !== 'binary') {
  console.error(`facemtl: the model's contract has no yes/no attributes (${analyzer.modelPath})`);
  process.exit(2);
}
const names = binary.labels;
const size = analyzer.model.inputSize;
const tile = size * SCALE;
mkdirSync(values.out, { recursive: true });

/** Rows of the per-face table, and per attribute the region shares of the faces where it is present. */
const rows = [];
const presentShares = Object.fromEntries(names.map((name) => [name, []]));
const round = (value, digits = 2) => value.toFixed(digits);

try {
  for (const file of images) {
    const image = await loadImage(file);
    const detections = await analyzer.detect(image);
    const crops = analyzer.crops(image, detections);
    const tiles = [];
    for (const [index, crop] of crops.entries()) {
      const maps = await occlusionMaps(
        crop,
        size,
        (batch) => analyzer.model.runRaw(batch),
        analyzer.contract,
      );
      tiles.push({ input: await cropPng(crop), left: 0, top: index * tile });
      for (const [column, name] of names.entries()) {
        const head = maps[name];
        if (!head) throw new Error(`the model file has no "attributes" output (${analyzer.modelPath})`);
        const caption = `${name}: ${head.label} ${round(head.score)}`;
        const panel = await explanationPng(crop, size, head, { scale: SCALE, face: false, caption });
        tiles.push({ input: panel, left: (column + 1) * tile, top: index * tile });
        const shares = regionShares(head, size);
        if (head.label === 'yes') presentShares[name].push(shares);
        rows.push(
          `| ${basename(file)} #${index + 1} | ${name} | ${head.label} ${round(head.score)} | ` +
            `${round(shares.eyes_brows)} | ${round(shares.nose_cheeks)} | ${round(shares.mouth_chin)} |`,
        );
      }
    }
    if (tiles.length === 0) {
      console.error(`facemtl: no face found in ${file}`);
      continue;
    }
    const grid = await sharp({
      create: {
        width: (names.length + 1) * tile,
        height: crops.length * tile,
        channels: 3,
        background: '#000',
      },
    })
      .composite(tiles)
      .png({ palette: true, quality: 90 }) // small files for docs/
      .toBuffer();
    const path = join(values.out, `attributes-${basename(file, extname(file))}.png`);
    writeFileSync(path, grid);
    console.error(`wrote ${path} (${crops.length} faces, ${Math.round(grid.length / 1024)} KiB)`);
  }
} finally {
  await analyzer.dispose();
}

console.log('| face | attribute | decision | eyes/brows | nose/cheeks | mouth/chin |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log('\nMean shares where the attribute is present:\n');
console.log('| attribute | faces | eyes/brows | nose/cheeks | mouth/chin |');
console.log('|---|---|---|---|---|');
for (const name of names) {
  const shares = presentShares[name];
  const mean = (band) => shares.reduce((sum, share) => sum + share[band], 0) / (shares.length || 1);
  console.log(
    `| ${name} | ${shares.length} | ` +
      (shares.length === 0
        ? '– | – | – |'
        : `${round(mean('eyes_brows'))} | ${round(mean('nose_cheeks'))} | ${round(mean('mouth_chin'))} |`),
  );
}

/** The model's CHW crop as an enlarged PNG tile. */
function cropPng(crop) {
  const pixels = new Uint8Array(size * size * 3);
  for (let p = 0; p < size * size; p++)
    for (let c = 0; c < 3; c++) pixels[p * 3 + c] = crop[c * size * size + p];
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .resize(tile, tile)
    .png()
    .toBuffer();
}
