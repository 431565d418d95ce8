/**
 * The resample's two filter passes in WebAssembly SIMD (wasm/resample.wat): the same arithmetic
 * as resample.ts's JavaScript loops, two values at a time, so the detector's input is identical
 * to the bit. One instance per JavaScript thread (calls are synchronous, so they never overlap);
 * its memory grows to the largest call.
 */
import type { Taps } from './resample.js';
import { resampleWasm } from './wasm/resample-module.js';

/** Source pixels, filter taps and result rows of one call, in the instance's memory. */
export interface PassBuffers {
  /** `columns`×`rows` RGB floats to fill before `run` (the block means). */
  source: Float32Array;
  /** The placed rows of the detector input after `run`: `height` rows of `width`×3 values. */
  result: Float32Array;
  run(): void;
}

interface Exports {
  memory: WebAssembly.Memory;
  horizontal(...args: number[]): void;
  vertical(...args: number[]): void;
}

const PAGE = 65536;

export class WasmPasses {
  private constructor(private readonly exports: Exports) {}

  /** The kernels, or undefined where WebAssembly SIMD is missing (then the JavaScript loops run). */
  static create(): WasmPasses | undefined {
    try {
      const bytes = Uint8Array.from(atob(resampleWasm), (c) => c.charCodeAt(0));
      if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return undefined;
      // Synchronous compile: the module is under a kilobyte (browsers allow up to 4 KB on the main thread).
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
      return new WasmPasses(instance.exports as unknown as Exports);
    } catch {
      return undefined;
    }
  }

  /**
   * Lays out one call in memory: the source pixels, the horizontal pass's rows, the result rows,
   * then both axes' taps (copied in). Fill `source`, call `run`, read `result`.
   */
  prepare(columns: number, rows: number, horizontal: Taps, vertical: Taps): PassBuffers {
    const width = horizontal.first.length;
    const height = vertical.first.length;
    const sourceBytes = columns * rows * 12;
    const tempBytes = rows * width * 12;
    const resultBytes = height * width * 12;
    const tapBytes = (taps: Taps) => taps.first.length * 8 + taps.weights.length * 4;
    const sourceAt = 0;
    const tempAt = sourceAt + sourceBytes;
    const resultAt = tempAt + tempBytes;
    const horizontalAt = resultAt + resultBytes;
    const verticalAt = horizontalAt + tapBytes(horizontal);
    this.reserve(verticalAt + tapBytes(vertical));
    const buffer = this.exports.memory.buffer;
    const place = (taps: Taps, at: number) => {
      const n = taps.first.length;
      new Int32Array(buffer, at, n).set(taps.first);
      new Int32Array(buffer, at + n * 4, n).set(taps.count);
      new Float32Array(buffer, at + n * 8, taps.weights.length).set(taps.weights);
      return [at, at + n * 4, at + n * 8, taps.stride];
    };
    const horizontalArgs = place(horizontal, horizontalAt);
    const verticalArgs = place(vertical, verticalAt);
    const { exports } = this;
    return {
      source: new Float32Array(buffer, sourceAt, columns * rows * 3),
      result: new Float32Array(buffer, resultAt, height * width * 3),
      run() {
        exports.horizontal(sourceAt, columns, rows, ...horizontalArgs, width, tempAt);
        exports.vertical(tempAt, width * 3, ...verticalArgs, height, resultAt);
      },
    };
  }

  private reserve(bytes: number): void {
    const { memory } = this.exports;
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
  }
}
