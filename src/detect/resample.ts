/**
 * The detector's input, made in process: a region of the image resampled straight into the
 * model's NHWC [-1, 1] tensor, inside its black letterbox. This replaces a sharp pipeline per
 * region (extract → resize → extend → raw, a round trip through libuv's pool and three copies) by
 * an area + bilinear resample into a reused buffer: k×k block means (every source pixel counts, so
 * small faces do not alias), then bilinear for the factor left (under 2), or Lanczos-3 for an
 * enlargement. Close to libvips' Lanczos-3, not bit-exact. Every detector input in Node and in the
 * browser demo is made here, so both runtimes see the same pixels. Pure code; the two filter
 * passes run in WebAssembly SIMD where the platform has it (resample-wasm.ts: the same values to
 * the bit, 1.5–3× faster), else in the JavaScript loops below.
 */
import type { RgbImage } from '../image/types.js';
import type { Letterbox } from './blazeface.js';
import type { Region } from './regions.js';
import { WasmPasses } from './resample-wasm.js';

/** Where a region's pixels inside the image land in the letterbox input, in whole input pixels. */
export interface Placement {
  /** The part of the region inside the image, in image pixels. */
  left: number;
  top: number;
  right: number;
  bottom: number;
  /** Where it goes in the input, and its size there. */
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A region may reach past the image (`zoomOutRegion`): only its part inside the image is read and
 * placed where it falls, the rest stays black — what a canvas does with it in the browser.
 */
export function placement(
  image: { width: number; height: number },
  region: Region,
  box: Letterbox,
): Placement {
  const left = Math.max(0, region.left);
  const top = Math.max(0, region.top);
  const right = Math.min(image.width, region.left + region.width);
  const bottom = Math.min(image.height, region.top + region.height);
  const scaleX = box.width / region.width;
  const scaleY = box.height / region.height;
  const x = box.padX + Math.round((left - region.left) * scaleX);
  const y = box.padY + Math.round((top - region.top) * scaleY);
  const width = Math.max(1, Math.min(box.inputSize - x, Math.round((right - left) * scaleX)));
  const height = Math.max(1, Math.min(box.inputSize - y, Math.round((bottom - top) * scaleY)));
  return { left, top, right, bottom, x, y, width, height };
}

/** One output pixel's source pixels along an axis: the first index and the normalised weights. */
export interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** `count[i]` weights for output i start at `i * stride`. */
  weights: Float32Array;
  stride: number;
}

const triangle = (x: number) => Math.max(0, 1 - Math.abs(x));
const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
const lanczos3 = (x: number) => (Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0);

/**
 * Taps mapping `sourceSize` pixels onto `targetSize` pixels (pixel centres at i + 0.5 on both
 * sides), edge pixels repeated. Reductions (after the block means the factor left is under 2) are
 * bilinear, where two taps see every source pixel; enlargements (small images and close-up
 * regions) are Lanczos-3, as libvips makes them: bilinear blurs the eyes the detector looks for.
 */
function taps(sourceSize: number, targetSize: number, scale = sourceSize / targetSize): Taps {
  // scale: source pixels per output pixel
  const [kernel, support] = scale < 1 ? [lanczos3, 3] : [triangle, 1];
  const stride = 2 * support + 1;
  const first = new Int32Array(targetSize);
  const count = new Int32Array(targetSize);
  const weights = new Float32Array(targetSize * stride);
  for (let i = 0; i < targetSize; i++) {
    const centre = (i + 0.5) * scale;
    const low = Math.max(0, Math.ceil(centre - support - 0.5));
    const high = Math.min(sourceSize - 1, Math.floor(centre + support - 0.5));
    let total = 0;
    let n = 0;
    for (let s = low; s <= high; s++, n++) {
      const weight = kernel(s + 0.5 - centre);
      weights[i * stride + n] = weight;
      total += weight;
    }
    // Taps of weight 0 at either end (a whole-number scale puts the bilinear taps on pixel
    // centres) add nothing to a sum: drop them, the result stays the same to the bit.
    let skip = 0;
    while (skip < n - 1 && weights[i * stride + skip] === 0) skip++;
    while (n - 1 > skip && weights[i * stride + n - 1] === 0) n--;
    first[i] = low + skip;
    for (let k = skip; k < n; k++) weights[i * stride + k - skip] = weights[i * stride + k] / total;
    count[i] = n - skip;
  }
  return { first, count, weights, stride };
}

/**
 * The region's pixels as floats, reductions first averaging k×k blocks (k = ⌊factor⌋, an area
 * filter: every source pixel counts) so that bilinear does the rest: `columns`×`rows` block means
 * (edge pixels repeated for partial blocks) in `out`, rounded like 8-bit pixels.
 */
function blockMeans(
  image: RgbImage,
  place: Placement,
  k: number,
  columns: number,
  rows: number,
  out: Float32Array,
): void {
  const { data, width } = image;
  const spanX = place.right - place.left;
  const spanY = place.bottom - place.top;
  // Blocks of 4 px and more are read at 2×2 points (a quarter and three quarters across): a
  // low-pass good enough for the detector, at a fraction of the reads (4 of 25 at 640 → 128).
  const picks =
    k >= 4 ? [Math.floor(k / 4), Math.floor((3 * k) / 4)] : Array.from({ length: k }, (_, i) => i);
  const m = picks.length;
  // Byte offsets of every sample point: columns × m along a row, rows × m down the image.
  const offsets = new Int32Array(columns * m);
  for (let column = 0; column < columns; column++) {
    for (let j = 0; j < m; j++)
      offsets[column * m + j] = (place.left + Math.min(column * k + picks[j], spanX - 1)) * 3;
  }
  const rowStarts = new Int32Array(rows * m);
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < m; j++)
      rowStarts[row * m + j] = (place.top + Math.min(row * k + picks[j], spanY - 1)) * width * 3;
  }
  // Sums of whole bytes are exact in any order; one rounding per output value.
  const scale = 1 / (m * m);
  if (m === 2) return blockMeans2x2(data, offsets, rowStarts, columns, rows, out);
  if (m === 3) return blockMeans3x3(data, offsets, rowStarts, columns, rows, out);
  let t = 0;
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++, t += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let i = 0; i < m; i++) {
        const source = rowStarts[row * m + i];
        for (let j = 0; j < m; j++) {
          const p = source + offsets[column * m + j];
          r += data[p];
          g += data[p + 1];
          b += data[p + 2];
        }
      }
      if (m > 1) {
        r = Math.round(r * scale);
        g = Math.round(g * scale);
        b = Math.round(b * scale);
      }
      out[t] = r;
      out[t + 1] = g;
      out[t + 2] = b;
    }
  }
}

/** `blockMeans` for 2×2 sample points (k = 2 and every k ≥ 4: the common case), unrolled. */
function blockMeans2x2(
  data: Uint8Array,
  offsets: Int32Array,
  rowStarts: Int32Array,
  columns: number,
  rows: number,
  out: Float32Array,
): void {
  let t = 0;
  for (let row = 0; row < rows; row++) {
    const top = rowStarts[row * 2];
    const bottom = rowStarts[row * 2 + 1];
    for (let column = 0; column < columns; column++, t += 3) {
      const a = top + offsets[column * 2];
      const b = top + offsets[column * 2 + 1];
      const c = bottom + offsets[column * 2];
      const d = bottom + offsets[column * 2 + 1];
      out[t] = (data[a] + data[b] + data[c] + data[d] + 2) >> 2;
      out[t + 1] = (data[a + 1] + data[b + 1] + data[c + 1] + data[d + 1] + 2) >> 2;
      out[t + 2] = (data[a + 2] + data[b + 2] + data[c + 2] + data[d + 2] + 2) >> 2;
    }
  }
}

/** `blockMeans` for 3×3 blocks (k = 3: a photo's tiles, 960 → 256), unrolled; the same rounding. */
function blockMeans3x3(
  data: Uint8Array,
  offsets: Int32Array,
  rowStarts: Int32Array,
  columns: number,
  rows: number,
  out: Float32Array,
): void {
  const scale = 1 / 9;
  let t = 0;
  for (let row = 0; row < rows; row++) {
    const r0 = rowStarts[row * 3];
    const r1 = rowStarts[row * 3 + 1];
    const r2 = rowStarts[row * 3 + 2];
    for (let column = 0; column < columns; column++, t += 3) {
      const o0 = offsets[column * 3];
      const o1 = offsets[column * 3 + 1];
      const o2 = offsets[column * 3 + 2];
      for (let channel = 0; channel < 3; channel++) {
        const a = r0 + channel;
        const b = r1 + channel;
        const c = r2 + channel;
        const sum =
          data[a + o0] +
          data[a + o1] +
          data[a + o2] +
          data[b + o0] +
          data[b + o1] +
          data[b + o2] +
          data[c + o0] +
          data[c + o1] +
          data[c + o2];
        out[t + channel] = Math.round(sum * scale);
      }
    }
  }
}

/** A byte (0–255) as the detector's input value in [-1, 1], looked up rather than divided. */
const INPUT_VALUE = Float32Array.from({ length: 256 }, (_, byte) => byte / 127.5 - 1);

/**
 * Writes the letterboxed `region` of `image` into `out` (inputSize² × 3 floats, NHWC, [-1, 1];
 * black = -1), reusing `scratch` for the horizontal pass when it is large enough. Returns the
 * scratch buffer (possibly a new, larger one) for the next call.
 */
export function letterboxTensor(
  image: RgbImage,
  region: Region,
  box: Letterbox,
  out: Float32Array,
  scratch: ResampleScratch = {},
): ResampleScratch {
  const place = placement(image, region, box);
  out.fill(-1);
  const spanX = place.right - place.left;
  const spanY = place.bottom - place.top;
  const k = Math.max(1, Math.floor(Math.min(spanX / place.width, spanY / place.height)));
  // The filter reads floats (one array type keeps the loops monomorphic): the block means.
  const columns = Math.ceil(spanX / k);
  const rows = Math.ceil(spanY / k);
  // The residual factor after the block means is the exact one (a partial last block does not count).
  const horizontal = taps(columns, place.width, spanX / k / place.width);
  const vertical = taps(rows, place.height, spanY / k / place.height);
  const rowLength = place.width * 3;
  const wasm = scratch.engine === 'js' ? undefined : wasmPasses();
  if (wasm) {
    const buffers = wasm.prepare(columns, rows, horizontal, vertical);
    blockMeans(image, place, k, columns, rows, buffers.source);
    buffers.run();
    for (let j = 0; j < place.height; j++) {
      const target = ((place.y + j) * box.inputSize + place.x) * 3;
      out.set(buffers.result.subarray(j * rowLength, (j + 1) * rowLength), target);
    }
    return scratch;
  }
  scratch.shrunk = ensure(scratch.shrunk, columns * rows * 3);
  const source = scratch.shrunk;
  blockMeans(image, place, k, columns, rows, source);
  scratch.rows = ensure(scratch.rows, rows * rowLength);
  const temp = scratch.rows;
  horizontalPass(source, columns, rows, horizontal, place.width, temp);
  // Vertical pass: each output value sums its taps in order, rounded to a byte (an 8-bit
  // resize), then the byte's input value.
  const { first, count, weights, stride } = vertical;
  for (let j = 0; j < place.height; j++) {
    const n = count[j];
    const w0 = j * stride;
    const from = first[j] * rowLength;
    const target = ((place.y + j) * box.inputSize + place.x) * 3;
    for (let c = 0; c < rowLength; c++) {
      let sum = 0;
      for (let t = 0, p = from + c; t < n; t++, p += rowLength) sum += temp[p] * weights[w0 + t];
      out[target + c] = INPUT_VALUE[toByte(sum)];
    }
  }
  return scratch;
}

/** Horizontal pass, rounded to bytes: every source row (`columns` pixels) → a row of `width`. */
function horizontalPass(
  source: Float32Array,
  columns: number,
  rows: number,
  { first, count, weights, stride }: Taps,
  width: number,
  temp: Float32Array,
): void {
  for (let row = 0; row < rows; row++) {
    const sourceRow = row * columns * 3;
    let t = row * width * 3;
    for (let i = 0; i < width; i++, t += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      const n = count[i];
      const w0 = i * stride;
      for (let k = 0, p = sourceRow + first[i] * 3; k < n; k++, p += 3) {
        const weight = weights[w0 + k];
        r += source[p] * weight;
        g += source[p + 1] * weight;
        b += source[p + 2] * weight;
      }
      temp[t] = toByte(r);
      temp[t + 1] = toByte(g);
      temp[t + 2] = toByte(b);
    }
  }
}

// Math.round(value) for the values left after the clamps (0 < value < 255), without the call.
const toByte = (value: number) => (value <= 0 ? 0 : value >= 255 ? 255 : (value + 0.5) | 0);

/** Buffers reused between calls (grown when a call needs more), and which code runs the passes. */
export interface ResampleScratch {
  /**
   * `wasm` (default where WebAssembly SIMD is available): the filter passes in WebAssembly;
   * `js`: the JavaScript loops. Both give the same input to the bit.
   */
  engine?: 'wasm' | 'js';
  shrunk?: Float32Array;
  rows?: Float32Array;
}

/** Which code runs the filter passes on this platform (`wasm` where WebAssembly SIMD runs). */
export const availableResampleEngine = (): 'wasm' | 'js' => (wasmPasses() ? 'wasm' : 'js');

let kernels: WasmPasses | null | undefined;
/** This thread's WebAssembly kernels, made on first use; undefined where they cannot run. */
function wasmPasses(): WasmPasses | undefined {
  if (kernels === undefined) kernels = WasmPasses.create() ?? null;
  return kernels ?? undefined;
}

function ensure(buffer: Float32Array | undefined, length: number): Float32Array {
  return buffer && buffer.length >= length ? buffer : new Float32Array(length);
}
