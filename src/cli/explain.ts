/**
 * `facemtl explain <image>`: occlusion-sensitivity maps of every head (age, gender, ethnicity,
 * emotion, and each yes/no attribute of models that have them) for each face of an image,
 * written as PNG overlays. See docs/explain.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import type { Precision } from '../attributes/model.js';
import { explanationPng } from '../explain/render.js';
import { occlusionMaps, regionShares, type FaceExplanation, type FaceRegion } from '../explain/occlusion.js';
import { loadImage } from '../image/load.js';
import { FaceAnalyzer } from '../pipeline/index.js';
import { addModelOptions, integer } from './options.js';

interface ExplainFlags {
  out: string;
  json?: boolean;
  patch: number;
  stride: number;
  maxFaces: number;
  model?: string;
  precision: Precision;
  threads?: number;
}

export function register(program: Command): void {
  addModelOptions(program.command('explain'))
    .description(
      'occlusion-sensitivity maps: which parts of each face every head relies on (docs/explain.md)',
    )
    .argument('<image>', 'image file')
    .option('--out <dir>', 'folder for the PNGs (<image>-face<N>-<head>.png)', 'explain')
    .option('--json', 'print the faces, labels, scores and written files as JSON')
    .option(
      '--patch <px>',
      'side of the hidden square, in pixels of the model input crop',
      integer('--patch', 2),
      16,
    )
    .option('--stride <px>', 'step between squares, in crop pixels', integer('--stride', 1), 2)
    .option(
      '--max-faces <n>',
      'explain at most N faces (largest scores first)',
      integer('--max-faces', 1),
      10,
    )
    .action(async (image: string, flags: ExplainFlags) => runExplain(image, flags));
}

async function runExplain(file: string, flags: ExplainFlags): Promise<void> {
  if (flags.patch > 64) throw new Error('--patch must be at most the crop size (64)');
  const image = await loadImage(file);
  const analyzer = await FaceAnalyzer.create({
    modelPath: flags.model,
    precision: flags.precision,
    threads: flags.threads,
    maxFaces: flags.maxFaces,
  });
  const faces: { face: number; box: object; seconds: number; heads: Record<string, PanelInfo> }[] = [];
  try {
    const detections = await analyzer.detect(image);
    if (detections.length === 0) throw new Error(`no face found in ${file}`);
    const size = analyzer.model.inputSize;
    const crops = analyzer.crops(image, detections);
    await mkdir(flags.out, { recursive: true });
    const stem = basename(file, extname(file));
    for (const [index, crop] of crops.entries()) {
      const started = performance.now();
      const explanation = await occlusionMaps(
        crop,
        size,
        (batch) => analyzer.model.runRaw(batch),
        analyzer.contract,
        {
          patch: flags.patch,
          stride: flags.stride,
        },
      );
      const seconds = (performance.now() - started) / 1000;
      const heads = await writePanels(crop, size, explanation, join(flags.out, `${stem}-face${index + 1}`));
      faces.push({ face: index + 1, box: detections[index].box, seconds: round(seconds, 3), heads });
      if (!flags.json) {
        const labels = Object.entries(heads).map(([name, head]) =>
          name === 'age' ? `age ${head.score.toFixed(0)}` : `${name} ${head.label}`,
        );
        console.log(
          `face ${index + 1}: ${labels.join(', ')}  (${seconds.toFixed(2)} s) → ${flags.out}/${stem}-face${index + 1}-*.png`,
        );
      }
    }
  } finally {
    await analyzer.dispose();
  }
  if (flags.json) console.log(JSON.stringify({ file, faces }, null, 2));
}

interface PanelInfo {
  label: string;
  score: number;
  maxDrop: number;
  /** Share of the map's positive weight in the eye, nose and mouth bands of the crop. */
  regions: Record<FaceRegion, number>;
  file: string;
}

async function writePanels(crop: Float32Array, size: number, explanation: FaceExplanation, prefix: string) {
  const heads: Record<string, PanelInfo> = {};
  for (const [name, head] of Object.entries(explanation)) {
    const file = `${prefix}-${name}.png`;
    const score =
      name === 'age' ? `${head.score.toFixed(0)} years` : `${head.label} ${head.score.toFixed(2)}`;
    await writeFile(file, await explanationPng(crop, size, head, { caption: `${name}: ${score}` }));
    const regions = Object.fromEntries(
      Object.entries(regionShares(head, size)).map(([region, share]) => [region, round(share, 3)]),
    ) as Record<FaceRegion, number>;
    heads[name] = {
      label: head.label,
      score: round(head.score, 4),
      maxDrop: round(head.max, 4),
      regions,
      file,
    };
  }
  return heads;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
