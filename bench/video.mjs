#!/usr/bin/env node
/* global performance */
/**
 * Video benchmark: frames per second of `VideoAnalyzer` on a 640×480 clip (FFmpeg decoding
 * included), per detector and detect-every N, and what running the models on fewer frames costs:
 * ID switches and label agreement against the every-frame run of the same clip, and label
 * stability (label changes per track per second) with and without smoothing.
 *
 * The clip is a slow pan and zoom over a real group photo (face-api's sample6.jpg: four faces),
 * made with FFmpeg's zoompan filter. Writes bench/results/video.md.
 *
 *   npm run build && node bench/video.mjs [--seconds 6] [--threads 1,2]
 *     [--configs auto:1,auto:3,front:1,front:3,front:5] [--image path] [--out bench/results/video.md]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  FaceAnalyzer,
  VideoAnalyzer,
  labelStability,
  loadContract,
  readVideoFrames,
  runAgreement,
} from '../dist/index.js';
import { machineInfo } from '../dist/bench/machine.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    threads: { type: 'string', default: '1' },
    configs: { type: 'string', default: 'auto:1,auto:3,front:1,front:3,front:5' },
    image: { type: 'string', default: 'node_modules/@vladmandic/face-api/demo/sample6.jpg' },
    out: { type: 'string', default: 'bench/results/video.md' },
  },
});
const seconds = Number(args.seconds);
const fps = 30;
const frames = seconds * fps;
const threadCounts = args.threads.split(',').map(Number);
const configs = args.configs.split(',').map((text) => {
  const [detector, every] = text.split(':');
  return { detector, detectEvery: Number(every ?? 1) };
});
// The heads' labels, and the yes/no attributes' decisions of a model that has them.
const contract = loadContract();
const BINARY = contract.outputs.attributes?.kind === 'binary' ? contract.outputs.attributes.labels : [];
const HEADS = ['gender', 'ethnicity', 'emotion'];
const LABELS = [...HEADS, ...BINARY];

// A slow pan left→right with a slight zoom-in; the photo is upscaled first so zoompan's integer
// crop positions do not make the picture jitter.
const clip = join(mkdtempSync(join(tmpdir(), 'facemtl-bench-video-')), 'pan.mp4');
const zoompan =
  `scale=3840:-2,zoompan=z='1.4+0.002*on':x='(iw-iw/zoom)*on/${frames}':y='(ih-ih/zoom)/2'` +
  `:d=${frames}:s=640x480:fps=${fps}`;
const makeClip = [
  '-hide_banner',
  '-loglevel',
  'error',
  '-y',
  '-i',
  args.image,
  '-vf',
  zoompan,
  '-frames:v',
  String(frames),
];
makeClip.push('-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', clip);
execFileSync('ffmpeg', makeClip);

/** CPU milliseconds of this process's main thread (Linux; undefined elsewhere). */
function mainThreadCpu() {
  const path = `/proc/self/task/${process.pid}/stat`;
  if (!existsSync(path)) return undefined;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, at 100 ticks/s
}

/** Frames counted as start-up: the steady rate is measured after them. */
const STARTUP_FRAMES = 10;

async function run({ detector, threads, detectEvery, smoothing = 0.3 }) {
  const analyzer = await FaceAnalyzer.create({ detector, threads });
  const video = new VideoAnalyzer(analyzer, { detectEvery, smoothing, fps });
  const results = [];
  const cpuBefore = mainThreadCpu();
  const processBefore = process.cpuUsage();
  const started = performance.now();
  let steadyFrom = started;
  // As `facemtl video` without --annotate: nothing keeps a frame, the reader reuses the buffers.
  for await (const frame of readVideoFrames(clip, { reuseBuffers: true })) {
    if (results.length === STARTUP_FRAMES) steadyFrom = performance.now();
    results.push(await video.analyzeFrame(frame));
  }
  const ended = performance.now();
  const elapsed = (ended - started) / 1000;
  const cpu = cpuBefore === undefined ? undefined : (mainThreadCpu() - cpuBefore) / results.length;
  const { user, system } = process.cpuUsage(processBefore);
  const processCpu = (user + system) / 1000 / results.length;
  const tracks = video.finish();
  await analyzer.dispose();
  const stability = Object.fromEntries(LABELS.map((name) => [name, labelStability(results, name)]));
  return {
    detector,
    threads,
    detectEvery,
    smoothing,
    frames: results.length,
    fps: results.length / elapsed,
    // Starting FFprobe, FFmpeg and the reader thread and the first model runs take ~0.6 s: a long
    // video or a camera runs at the rate after them.
    steadyFps: ((results.length - STARTUP_FRAMES) * 1000) / (ended - steadyFrom),
    cpu,
    otherCpu: cpu === undefined ? undefined : processCpu - cpu,
    tracks,
    stability,
    results,
  };
}

// FFmpeg's own CPU time per frame for the decoding and RGB conversion (it runs in its own process).
const decodeBench = spawnSync(
  'ffmpeg',
  ['-hide_banner', '-benchmark', '-i', clip, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-y', '/dev/null'],
  { encoding: 'utf8' },
).stderr;
const seconds_ = (key) => Number(new RegExp(`${key}=([0-9.]+)s`).exec(decodeBench)?.[1]);
const ffmpegCpu = ((seconds_('utime') + seconds_('stime')) * 1000) / frames;

const runs = [];
for (const threads of threadCounts) {
  for (const config of configs) {
    runs.push(await run({ ...config, threads }));
    const r = runs.at(-1);
    console.error(
      `${r.detector}, threads ${threads}, detect every ${r.detectEvery}: ${r.fps.toFixed(1)} frames/s (steady ${r.steadyFps.toFixed(1)})` +
        (r.cpu === undefined ? '' : `, main thread ${r.cpu.toFixed(2)} ms/frame`),
    );
  }
}
const single = runs.filter((r) => r.threads === threadCounts[0]);
const find = (detector, detectEvery) =>
  single.find((r) => r.detector === detector && r.detectEvery === detectEvery);
// Smoothing: the default detector on every frame, with the average off and stronger.
const smoothed = find('auto', 1) ?? single[0];
const unsmoothed = await run({ ...smoothed, smoothing: 1 });
const slow = await run({ ...smoothed, smoothing: 0.1 });
const loadAtEnd = loadavg();

const machine = machineInfo();
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const every = (n) => (n === 1 ? 'every frame' : `every ${n}${n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'} frame`);
const name = (r) => `${r.detector}, ${every(r.detectEvery)}`;
const machineLine = `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, onnxruntime-node ${machine.onnxruntime_node}`;
const command = [
  `node bench/video.mjs --seconds ${seconds}`,
  args.threads === '1' ? '' : ` --threads ${args.threads}`,
  args.configs === 'auto:1,auto:3,front:1,front:3,front:5' ? '' : ` --configs ${args.configs}`,
].join('');

// Accuracy cost: each run with fewer model runs, or the fast detector, against an every-frame run.
const comparisons = [];
for (const r of single) {
  const sameDetector = find(r.detector, 1);
  if (r.detectEvery > 1 && sameDetector) comparisons.push([r, sameDetector]);
}
const accurate = find('auto', 1);
for (const r of single) if (r.detector !== 'auto' && accurate) comparisons.push([r, accurate]);
const agreementRow = ([r, reference]) => {
  const a = runAgreement(reference.results, r.results, LABELS);
  const binary = BINARY.filter((label) => label in a.labelAgreement);
  const binaryMean = binary.reduce((sum, label) => sum + a.labelAgreement[label], 0) / binary.length;
  return (
    `| ${name(r)} | ${name(reference)} | ${r.tracks.length} / ${reference.tracks.length} | ${a.idSwitches} | ` +
    `${pct(a.matchedFaces / a.referenceFaces)} | ` +
    HEADS.map((head) => pct(a.labelAgreement[head])).join(' | ') +
    ` | ${binary.length ? pct(binaryMean) : '–'} |`
  );
};
const stabilityCell = (r, label) =>
  `${f2(r.stability[label].changesPerTrackSecond)} (${r.stability[label].changes})`;
const shownLabels = LABELS.filter((label) => smoothed.stability[label].tracks > 0);

const lines = [
  '# Video: speed and label stability',
  '',
  `Measured ${new Date().toISOString().slice(0, 16)} UTC by \`npm run build && ${command}\`.`,
  `Machine: ${machineLine}; load average at the end ${loadAtEnd.map(f2).join(' ')}`,
  '(a load near or above the 2 cores means other work shared the CPU: frames/s are then lower bounds, and',
  'with one core busy, 2 ONNX Runtime threads wait on each other and run slower than 1).',
  '',
  `Clip: ${seconds} s, ${frames} frames, 640×480 at ${fps} fps, a slow pan and zoom over \`${args.image}\``,
  '(FFmpeg zoompan, H.264). Detectors: `auto` (the default: BlazeFace back model, faces refined close',
  'up with the front model) and `front` (the front model on the whole frame, faces',
  'refined close up); every input resized in process. Attribute model `models/facemtl-int8.onnx`',
  `(modified ${statSync('models/facemtl-int8.onnx').mtime.toISOString().slice(0, 16)} UTC); smoothing alpha 0.3 (the default).`,
  '',
  '## Speed',
  '',
  'Frames per second include FFmpeg decoding (its pipe read on a worker thread) and tracking; no',
  `annotation output. "Whole clip" counts from the call (starting FFprobe, FFmpeg, the reader thread`,
  `and the first model runs: ~0.6 s), "steady" after the first ${STARTUP_FRAMES} frames: the rate of a long video or a`,
  'camera. "Main thread" is the CPU time of the thread that runs the models, the',
  'tracker and the smoothing, per frame: what limits frames/s when the machine is not shared',
  '(FFmpeg and the pipe reader run on the other core).',
  '',
  '| detector | threads | models run on | frames/s, whole clip | frames/s, steady | main thread ms / frame | frames/s at that CPU time | other threads ms / frame | tracks |',
  '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...runs.map(
    (r) =>
      `| ${r.detector} | ${r.threads} | ${every(r.detectEvery)} | ${f1(r.fps)} | ${f1(r.steadyFps)} | ` +
      (r.cpu === undefined ? '– | – | –' : `${f2(r.cpu)} | ${f1(1000 / r.cpu)} | ${f2(r.otherCpu)}`) +
      ` | ${r.tracks.length} |`,
  ),
  '',
  `"Other threads": the pipe reader and Node's own (GC, I/O). FFmpeg decoding this clip to RGB takes`,
  `${f2(ffmpegCpu)} ms of CPU per frame (\`ffmpeg -benchmark\`, its own process).`,
  '',
  '## Accuracy cost of fewer model runs and of the fast detector',
  '',
  'Each run against a reference run of the same clip (1 thread): faces of the same frame paired by',
  'box overlap (IoU ≥ 0.5, best first); an ID switch is a reference track paired with another of the',
  'run’s tracks than at its previous pairing; the label columns are the share of paired faces that show',
  'the reference’s label (yes/no attributes: the decision, mean over the attributes).',
  '',
  `| run | reference | tracks (run / reference) | ID switches | faces paired | ${HEADS.join(' | ')} | yes/no attributes |`,
  `| --- | --- | --- | ---: | ---: | ${HEADS.map(() => '---:').join(' | ')} | ---: |`,
  ...comparisons.map(agreementRow),
  '',
  '## Label stability',
  '',
  'Label changes per track per second of track time (lower = steadier; in brackets the number of',
  'changes); for the yes/no attributes a change is the decision (`present`, at the contract threshold)',
  'flipping. Between detections the faces keep the attributes of the latest one, so fewer model runs',
  'also mean fewer chances to change.',
  '',
  `| run | ${shownLabels.join(' | ')} |`,
  `| --- | ${shownLabels.map(() => '---:').join(' | ')} |`,
  ...single.map((r) => `| ${name(r)} | ${shownLabels.map((label) => stabilityCell(r, label)).join(' | ')} |`),
  '',
  `Smoothing (${name(smoothed)}): exponential moving average of the probabilities weighted by detection`,
  'score; alpha = weight of the newest frame (1 = each frame on its own).',
  '',
  '| attribute | smoothing off (alpha 1) | alpha 0.3 (default) | alpha 0.1 |',
  '| --- | --- | --- | --- |',
  ...shownLabels.map(
    (label) =>
      `| ${label} | ${stabilityCell(unsmoothed, label)} | ${stabilityCell(smoothed, label)} | ${stabilityCell(slow, label)} |`,
  ),
  '',
  `Tracks (${name(smoothed)}): ${smoothed.tracks.length}, ${f1(smoothed.stability.emotion.trackSeconds)} s of track time in all.`,
  '',
];
writeFileSync(args.out, lines.join('\n'));
console.error(`wrote ${args.out}`);
