/**
 * The demo page: analyse chosen photos, or the webcam live with boxes and labels drawn over the
 * video. All inference runs here, in the browser (onnxruntime-web); nothing is uploaded.
 *
 * `window.facemtlDemo` exposes the state the end-to-end test and the frame-time benchmark read.
 */
import type { BrowserAnalyzer, Backend, BrowserAnalyzerOptions } from './engine.js';
import { LiveAttributes } from './live.js';
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
/** Settings from the URL, e.g. for benchmarks: `?backend=wasm&detector=fast&threads=1&refresh=all`. */
const query = new URLSearchParams(location.search);

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
      threads: Number(query.get('threads')) || undefined,
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

/** `canvas`'s 2D context at `width` × `height`. */
function sizedContext(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  // Assigning a size clears and reallocates the canvas, even the same size: only when it changes.
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  return canvas.getContext('2d', { willReadFrequently: true })!;
}

/** Draws an image on `canvas` at its natural size and returns its RGBA pixels. */
function pixelsOf(
  source: CanvasImageSource,
  width: number,
  height: number,
  canvas: HTMLCanvasElement,
): ImageData {
  const context = sizedContext(canvas, width, height);
  context.drawImage(source, 0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}

/** The live frame's RGBA, reused from frame to frame (each is analysed before the next is read). */
let liveRgba: Uint8ClampedArray<ArrayBuffer> | null = null;

/**
 * The video's current frame as RGBA pixels, also shown on `canvas` (under the boxes).
 * `VideoFrame.copyTo` converts the camera's YUV straight into our buffer: the same pixels as
 * drawing the video on a canvas and reading them back (checked: no difference), but ~2 ms instead
 * of ~25 at 640×480 in Chromium without a GPU, where both the drawImage and the getImageData cost
 * 12 ms or more. Browsers without it, or without its RGBA conversion, read the canvas.
 */
async function videoPixels(video: HTMLVideoElement, canvas: HTMLCanvasElement): Promise<ImageData> {
  const { videoWidth: width, videoHeight: height } = video;
  if (typeof VideoFrame !== 'undefined') {
    const frame = new VideoFrame(video);
    try {
      const { visibleRect } = frame;
      if (visibleRect?.width === width && visibleRect.height === height) {
        if (liveRgba?.length !== width * height * 4) liveRgba = new Uint8ClampedArray(width * height * 4);
        await frame.copyTo(liveRgba, { format: 'RGBA' });
        const pixels = new ImageData(liveRgba, width, height);
        sizedContext(canvas, width, height).putImageData(pixels, 0, 0);
        return pixels;
      }
    } catch {
      // No RGBA conversion in this browser: the canvas below.
    } finally {
      frame.close();
    }
  }
  return pixelsOf(video, width, height, canvas);
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
/** Follows the faces of the running camera; new with each start (see live.ts). */
let live: LiveAttributes | null = null;

/**
 * Faces whose attributes are re-estimated per live frame besides new faces: `?refresh=all` runs the
 * attribute model on every face of every frame (for comparison), `?refresh=N` on N.
 */
function refreshPerFrame(): number {
  const value = query.get('refresh');
  if (value === 'all') return Infinity;
  return value !== null && Number(value) >= 0 ? Number(value) : 1;
}

async function startCamera(): Promise<void> {
  stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  video.srcObject = stream;
  await video.play();
  liveSection.hidden = false;
  cameraButton.textContent = 'Stop webcam';
  live = new LiveAttributes(refreshPerFrame());
  void liveLoop();
}

function stopCamera(): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
  stream = null;
  video.srcObject = null;
  cameraButton.textContent = 'Start webcam';
}

/** Resolves in a new task, with no timer's minimum delay: the page renders and takes input between frames. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/**
 * Analyses frames back to back while the camera runs. Not once per display refresh
 * (requestAnimationFrame): an analysis a little longer than a refresh would wait for the next one,
 * 17 ms becoming 33 (30 frames/s at 60 Hz).
 */
async function liveLoop(): Promise<void> {
  while (stream && analyzer) {
    if (video.readyState >= 2 && video.videoWidth > 0) {
      const pixels = await videoPixels(video, liveCanvas);
      const started = performance.now();
      try {
        const analysis = await exclusive(() => analyzer!.analyze(pixels, live!));
        const elapsed = performance.now() - started;
        drawFaces(liveCanvas.getContext('2d')!, analysis);
        recordFrame(analysis, elapsed);
      } catch (error) {
        stopCamera();
        statusLine.textContent = `Live analysis stopped: ${messageOf(error)}`;
        return;
      }
    }
    await nextTask();
  }
}

const frameTimes: number[] = [];
let labelsShownAt = -Infinity;
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
  // Text that changes relayouts the page: four times a second is enough to read it.
  if (now - labelsShownAt < 250) return;
  labelsShownAt = now;
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
if (query.get('backend') === 'wasm' || query.get('backend') === 'webgpu')
  backendSelect.value = query.get('backend')!;
if (query.get('detector') === 'fast') detectorSelect.value = 'fast';
void loadAnalyzer();
