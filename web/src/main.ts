/**
 * The demo page: analyse chosen photos, or the webcam live with boxes and labels drawn over the
 * video. All inference runs here, in the browser (onnxruntime-web); nothing is uploaded.
 *
 * `window.facemtlDemo` exposes the state the end-to-end test and the frame-time benchmark read.
 */
import type { BrowserAnalyzer, Backend, BrowserAnalyzerOptions } from './engine.js';
import { drawFaces, faceSummary } from './render.js';
import type { Analysis } from './types.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const photosInput = $<HTMLInputElement>('photos');
const cameraButton = $<HTMLButtonElement>('camera');
const backendSelect = $<HTMLSelectElement>('backend');
const detectorSelect = $<HTMLSelectElement>('detector');
const statusLine = $<HTMLSpanElement>('status');
const results = $<HTMLElement>('results');
const liveSection = $<HTMLElement>('live');
const video = $<HTMLVideoElement>('video');
const liveCanvas = $<HTMLCanvasElement>('live-canvas');
const fpsLabel = $<HTMLSpanElement>('fps');
const frameLabel = $<HTMLSpanElement>('frame-ms');

/** What tests and benchmarks observe. */
interface DemoState {
  ready: boolean;
  backend: string | null;
  error: string | null;
  photos: { name: string; analysis: Analysis | null; error: string | null }[];
  live: { frames: number; lastFaces: number; frameMs: number[]; fps: number; lastAnalysis: Analysis | null };
}
const state: DemoState = {
  ready: false,
  backend: null,
  error: null,
  photos: [],
  live: { frames: 0, lastFaces: 0, frameMs: [], fps: 0, lastAnalysis: null },
};
(window as unknown as { facemtlDemo: DemoState }).facemtlDemo = state;

let analyzer: BrowserAnalyzer | null = null;
/** One inference at a time: photos and webcam frames share the sessions. */
let busy: Promise<unknown> = Promise.resolve();
function exclusive<T>(task: () => Promise<T>): Promise<T> {
  const run = busy.then(task, task);
  busy = run.catch(() => undefined);
  return run;
}

/** `fast` trades small and far faces for speed: the 128 px model alone, no tiles, no refinement. */
const DETECTION_MODES: Record<string, BrowserAnalyzerOptions['detection']> = {
  accurate: {},
  fast: { detector: 'front', refine: false },
};

async function loadAnalyzer(): Promise<void> {
  const backend = backendSelect.value as Backend;
  state.ready = false;
  cameraButton.disabled = true;
  photosInput.disabled = true;
  statusLine.classList.remove('error');
  statusLine.textContent = 'Loading models…';
  try {
    // Loaded lazily so onnxruntime-web's worker chunk holds no page code.
    const { createBrowserAnalyzer } = await import('./engine.js');
    const next = await createBrowserAnalyzer({
      backend,
      modelBase: './models/',
      detection: DETECTION_MODES[detectorSelect.value],
    });
    const previous = analyzer;
    // Swap once no analysis runs on the previous sessions.
    await exclusive(async () => {
      analyzer = next;
      await previous?.dispose();
    });
    state.backend = next.backend;
    state.ready = true;
    state.error = null;
    statusLine.textContent = `Ready · ${next.backend}`;
    cameraButton.disabled = false;
    photosInput.disabled = false;
  } catch (error) {
    state.error = messageOf(error);
    statusLine.textContent = `Could not load the models: ${state.error}`;
    statusLine.classList.add('error');
  }
}

/** RGBA pixels of an image or video frame, at its natural size. */
function pixelsOf(
  source: CanvasImageSource,
  width: number,
  height: number,
  canvas: HTMLCanvasElement,
): ImageData {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.drawImage(source, 0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}

async function analyzePhoto(file: File): Promise<void> {
  const card = document.createElement('article');
  card.className = 'card';
  const title = document.createElement('h2');
  title.textContent = file.name;
  const canvas = document.createElement('canvas');
  const list = document.createElement('div');
  card.append(title, canvas, list);
  results.prepend(card);

  const entry: DemoState['photos'][number] = { name: file.name, analysis: null, error: null };
  try {
    // createImageBitmap applies the EXIF orientation, like the Node runtime does.
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const pixels = pixelsOf(bitmap, bitmap.width, bitmap.height, canvas);
    bitmap.close();
    const analysis = await exclusive(() => analyzer!.analyze(pixels));
    entry.analysis = analysis;
    drawFaces(canvas.getContext('2d')!, analysis);
    list.append(...facesList(analysis));
  } catch (error) {
    entry.error = messageOf(error);
    list.innerHTML = '';
    const message = document.createElement('p');
    message.className = 'error';
    message.textContent = `Could not analyse this image: ${entry.error}`;
    list.append(message);
  }
  state.photos.push(entry);
}

function facesList(analysis: Analysis): HTMLElement[] {
  if (analysis.faces.length === 0) {
    const none = document.createElement('p');
    none.textContent = 'No face found.';
    return [none];
  }
  return analysis.faces.map((face, index) => {
    const block = document.createElement('div');
    block.className = 'face';
    const list = document.createElement('dl');
    for (const [term, value] of [['face', `#${index + 1}`], ...faceSummary(face)]) {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      list.append(dt, dd);
    }
    block.append(list);
    return block;
  });
}

// --- webcam ---------------------------------------------------------------------------------------

let stream: MediaStream | null = null;

async function startCamera(): Promise<void> {
  stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  video.srcObject = stream;
  await video.play();
  liveSection.hidden = false;
  cameraButton.textContent = 'Stop webcam';
  requestAnimationFrame(liveFrame);
}

function stopCamera(): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
  stream = null;
  video.srcObject = null;
  cameraButton.textContent = 'Start webcam';
}

const frameTimes: number[] = [];
async function liveFrame(): Promise<void> {
  if (!stream || !analyzer) return;
  if (video.readyState >= 2 && video.videoWidth > 0) {
    const pixels = pixelsOf(video, video.videoWidth, video.videoHeight, liveCanvas);
    const started = performance.now();
    try {
      const analysis = await exclusive(() => analyzer!.analyze(pixels));
      const elapsed = performance.now() - started;
      drawFaces(liveCanvas.getContext('2d')!, analysis);
      recordFrame(analysis, elapsed);
    } catch (error) {
      stopCamera();
      statusLine.textContent = `Live analysis stopped: ${messageOf(error)}`;
      return;
    }
  }
  requestAnimationFrame(liveFrame);
}

function recordFrame(analysis: Analysis, elapsedMs: number): void {
  const now = performance.now();
  frameTimes.push(now);
  while (frameTimes.length > 0 && now - frameTimes[0] > 1000) frameTimes.shift();
  const live = state.live;
  live.frames++;
  live.lastFaces = analysis.faces.length;
  live.lastAnalysis = analysis;
  live.fps = frameTimes.length;
  live.frameMs.push(elapsedMs);
  if (live.frameMs.length > 1000) live.frameMs.shift();
  fpsLabel.textContent = `${live.fps} fps`;
  frameLabel.textContent = `${elapsedMs.toFixed(1)} ms/frame (${analysis.faces.length} face${analysis.faces.length === 1 ? '' : 's'})`;
}

// --- wiring ---------------------------------------------------------------------------------------

photosInput.addEventListener('change', async () => {
  const files = [...(photosInput.files ?? [])];
  photosInput.value = '';
  for (const file of files) await analyzePhoto(file);
});

cameraButton.addEventListener('click', async () => {
  if (stream) return stopCamera();
  try {
    await startCamera();
  } catch (error) {
    statusLine.textContent = `Webcam unavailable: ${messageOf(error)}`;
  }
});

for (const select of [backendSelect, detectorSelect]) {
  select.addEventListener('change', () => {
    stopCamera();
    void loadAnalyzer();
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// `?backend=wasm&detector=fast` picks the settings from the URL, e.g. for benchmarks.
const query = new URLSearchParams(location.search);
if (query.get('backend') === 'wasm' || query.get('backend') === 'webgpu')
  backendSelect.value = query.get('backend')!;
if (query.get('detector') === 'fast') detectorSelect.value = 'fast';
void loadAnalyzer();
