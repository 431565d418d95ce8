/**
 * The HTTP server with an injected fake analyzer: routes, input validation, limits, the bounded
 * queue (backpressure and timeouts), metrics, static files and graceful shutdown. Each test starts
 * the real server on a loopback port chosen by the OS.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageError } from '../src/image/types.js';
import {
  startServer,
  type ImageAnalyzer,
  type RunningServer,
  type StartServerOptions,
} from '../src/server/index.js';

const SAMPLE = 'node_modules/@vladmandic/face-api/demo/sample1.jpg';
const sampleBytes = readFileSync(SAMPLE);

/** A fake analyzer: records calls and concurrency, optionally waits `delayMs` or until released. */
class FakeAnalyzer implements ImageAnalyzer {
  calls: Uint8Array[] = [];
  running = 0;
  maxRunning = 0;
  delayMs = 0;
  failWith: Error | null = null;
  private gate: Promise<void> | null = null;
  private openGate: () => void = () => {};

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate();
    this.gate = null;
  }

  async analyze(image: Uint8Array): Promise<{ width: number; height: number; faces: object[] }> {
    this.calls.push(image);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.gate) await this.gate;
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      if (this.failWith) throw this.failWith;
      return { width: 10, height: 20, faces: [{ score: 0.9 }, { score: 0.8 }] };
    } finally {
      this.running--;
    }
  }
}

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(analyzer: ImageAnalyzer, options: Omit<StartServerOptions, 'analyzer'> = {}) {
  server = await startServer({ host: '127.0.0.1', port: 0, webRoot: null, ...options, analyzer });
  return server;
}

function postImage(url: string, body: Uint8Array | string, type = 'image/jpeg') {
  return fetch(`${url}/v1/analyze`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: body as BodyInit,
  });
}

function postForm(url: string, form: FormData) {
  return fetch(`${url}/v1/analyze`, { method: 'POST', body: form });
}

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(/\S/);
  expect(body.error.message).not.toMatch(/\n\s+at /); // no stack trace
  return body;
}

describe('facemtl serve API (fake analyzer)', () => {
  it('answers health, OpenAPI and 404 as JSON', async () => {
    const { url } = await start(new FakeAnalyzer());
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', active: 0, queued: 0 });

    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: {
        schemas: { Face: { properties: { emotion: { properties: { label: { enum: string[] } } } } } };
      };
    };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/v1/analyze', '/healthz', '/metrics']),
    );
    const contract = JSON.parse(readFileSync('models/facemtl.json', 'utf8'));
    expect(openapi.components.schemas.Face.properties.emotion.properties.label.enum).toEqual(
      contract.outputs.emotion.labels,
    );

    await expectError(await fetch(`${url}/nope`), 404, 'not_found');
    const wrongMethod = await fetch(`${url}/v1/analyze`);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    await expectError(wrongMethod, 405, 'method_not_allowed');
  });

  it('analyses a raw image body and a multipart upload, passing the exact bytes', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer);

    const raw = await postImage(url, sampleBytes);
    expect(raw.status).toBe(200);
    expect(await raw.json()).toEqual({ width: 10, height: 20, faces: [{ score: 0.9 }, { score: 0.8 }] });
    expect(Buffer.from(analyzer.calls[0]).equals(sampleBytes)).toBe(true);

    const form = new FormData();
    form.append('note', 'a text field before the file is fine');
    form.append('image', new Blob([sampleBytes], { type: 'image/jpeg' }), 'sample1.jpg');
    const multipart = await postForm(url, form);
    expect(multipart.status).toBe(200);
    expect(Buffer.from(analyzer.calls[1]).equals(sampleBytes)).toBe(true);

    const octets = await postImage(url, sampleBytes, 'application/octet-stream');
    expect(octets.status).toBe(200);
  });

  it('rejects bad requests with 4xx JSON errors and never calls the analyzer for them', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer, { maxBodyBytes: 1000 });

    await expectError(
      await postImage(url, '{"image": 1}', 'application/json'),
      415,
      'unsupported_media_type',
    );
    await expectError(await postImage(url, 'hello', 'text/plain'), 415, 'unsupported_media_type');
    await expectError(await postImage(url, new Uint8Array(0), 'image/png'), 400, 'empty_image');
    await expectError(await fetch(`${url}/v1/analyze`, { method: 'POST' }), 400, 'empty_image');
    await expectError(await postImage(url, sampleBytes), 413, 'payload_too_large');

    const bigForm = new FormData();
    bigForm.append('image', new Blob([sampleBytes], { type: 'image/jpeg' }), 'big.jpg');
    await expectError(await postForm(url, bigForm), 413, 'payload_too_large');

    const noFile = new FormData();
    noFile.append('image', 'not a file');
    await expectError(await postForm(url, noFile), 400, 'missing_file');

    expect(analyzer.calls).toHaveLength(0);
  });

  it('maps image loader errors to 400/415/422 and other failures to a bare 500, and keeps serving', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer);

    analyzer.failWith = new ImageError('too_large', 'image has 50000000 pixels, the limit is 40000000');
    await expectError(await postImage(url, sampleBytes), 422, 'too_many_pixels');
    analyzer.failWith = new ImageError('corrupt', 'the image data is corrupt');
    await expectError(await postImage(url, sampleBytes), 400, 'corrupt_image');
    analyzer.failWith = new ImageError('unsupported', 'unsupported image format');
    await expectError(await postImage(url, sampleBytes), 415, 'unsupported_image');
    analyzer.failWith = new ImageError('empty', 'the image is empty');
    await expectError(await postImage(url, sampleBytes), 400, 'empty_image');

    analyzer.failWith = new Error('secret internal detail');
    const body = await expectError(await postImage(url, sampleBytes), 500, 'internal');
    expect(body.error.message).not.toContain('secret');

    analyzer.failWith = null;
    expect((await postImage(url, sampleBytes)).status).toBe(200);
  });

  it('bounds concurrency and refuses with 503 + Retry-After when the queue is full', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer, { maxConcurrent: 1, maxQueued: 1 });
    analyzer.hold();

    const first = postImage(url, sampleBytes);
    const second = postImage(url, sampleBytes);
    await waitFor(async () => {
      const health = (await (await fetch(`${url}/healthz`)).json()) as { active: number; queued: number };
      return health.active === 1 && health.queued === 1;
    });

    const refused = await postImage(url, sampleBytes);
    await expectError(refused, 503, 'busy');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    analyzer.release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(analyzer.maxRunning).toBe(1);
    expect(analyzer.calls).toHaveLength(2);
  });

  it('answers 504 when an analysis overruns the timeout and 503 when a queued one waits too long', async () => {
    const analyzer = new FakeAnalyzer();
    analyzer.delayMs = 1500;
    const { url } = await start(analyzer, { maxConcurrent: 1, maxQueued: 4, timeoutMs: 400 });

    const began = performance.now();
    const [running, queued] = await Promise.all([postImage(url, sampleBytes), postImage(url, sampleBytes)]);
    const statuses = [running.status, queued.status].sort();
    expect(statuses).toEqual([503, 504]);
    expect(performance.now() - began).toBeLessThan(1400); // answered at the deadline, not when the job ends
    const late = running.status === 503 ? running : queued;
    expect(late.headers.get('retry-after')).toMatch(/^\d+$/);
    await expectError(late, 503, 'timeout');
    await expectError(late === running ? queued : running, 504, 'timeout');

    // The overrunning job still held the only slot: it was never run twice at once.
    expect(analyzer.maxRunning).toBe(1);
    expect(analyzer.calls).toHaveLength(1);
  });

  it('exports Prometheus metrics: requests by route/status, latency, faces, errors', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer);
    await postImage(url, sampleBytes);
    await postImage(url, sampleBytes);
    await postImage(url, 'x', 'text/plain');

    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('facemtl_http_requests_total{route="/v1/analyze",status="200"} 2');
    expect(text).toContain('facemtl_http_requests_total{route="/v1/analyze",status="415"} 1');
    expect(text).toContain('facemtl_faces_total 4');
    expect(text).toContain('facemtl_errors_total{code="unsupported_media_type"} 1');
    expect(text).toMatch(/facemtl_http_request_duration_seconds_count\{route="\/v1\/analyze"\} 3/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });

  it('serves the model files the browser demo needs, and nothing else from those folders', async () => {
    const { url } = await start(new FakeAnalyzer());
    const contract = await fetch(`${url}/models/facemtl.json`);
    expect(contract.status).toBe(200);
    expect(await contract.json()).toEqual(JSON.parse(readFileSync('models/facemtl.json', 'utf8')));

    const model = await fetch(`${url}/models/facemtl-int8.onnx`);
    expect(model.status).toBe(200);
    expect((await model.arrayBuffer()).byteLength).toBe(readFileSync('models/facemtl-int8.onnx').length);

    const detector = await fetch(`${url}/models/blazeface/face_detection_front_128x128_barracuda.onnx`);
    expect(detector.status).toBe(200);
    expect(detector.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect((await detector.arrayBuffer()).byteLength).toBeGreaterThan(100_000);

    expect((await fetch(`${url}/models/README.md`)).status).toBe(404);
    expect((await fetch(`${url}/models/..%2Fpackage.json`)).status).toBe(404);
    expect(
      (await fetch(`${url}/models/blazeface/face_detection_front_128x128_barracuda.onnx.meta`)).status,
    ).toBe(404);
  });

  it('serves a built web root at / and says how to build it when absent', async () => {
    const { url } = await start(new FakeAnalyzer());
    const missing = await fetch(`${url}/`);
    expect(missing.status).toBe(200);
    expect(await missing.text()).toContain('npm run build:web');
    await server!.close();

    const webRoot = mkdtempSync(path.join(os.tmpdir(), 'facemtl-web-'));
    try {
      writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>demo</title>');
      const { url: url2 } = await start(new FakeAnalyzer(), {
        webRoot: path.relative(process.cwd(), webRoot),
      });
      const page = await fetch(`${url2}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>demo</title>');
      expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    } finally {
      rmSync(webRoot, { recursive: true, force: true });
    }
  });

  it('shuts down gracefully: an in-flight request completes, then the port is closed', async () => {
    const analyzer = new FakeAnalyzer();
    analyzer.delayMs = 300;
    const running = await start(analyzer);
    const inFlight = postImage(running.url, sampleBytes);
    await waitFor(async () => analyzer.running === 1);

    const closed = running.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    await closed;
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  });

  it('rejects limits that would disable protection', async () => {
    await expect(startServer({ analyzer: new FakeAnalyzer(), port: 0, maxConcurrent: 0 })).rejects.toThrow(
      /maxConcurrent/,
    );
    await expect(
      startServer({ analyzer: new FakeAnalyzer(), port: 0, maxBodyBytes: Infinity }),
    ).rejects.toThrow(/maxBodyBytes/);
  });
});

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
