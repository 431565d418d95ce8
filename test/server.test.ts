/**
 * The HTTP server with an injected fake analyzer: routes, input validation, limits, the bounded
 * queue (backpressure and timeouts), metrics, static files and graceful shutdown. Each test starts
 * the real server on a loopback port chosen by the OS.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
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
import { ERROR_STATUSES } from '../src/server/schemas.js';
import { checkedFetch } from './fixtures/openapi.js';

/** Every response of these tests is checked against the server's own /openapi.json. */
const fetch = checkedFetch();

const SAMPLE = 'node_modules/@vladmandic/face-api/demo/sample1.jpg';
const sampleBytes = readFileSync(SAMPLE);

const contract = JSON.parse(readFileSync('models/facemtl.json', 'utf8')) as {
  outputs: Record<string, { labels: string[] }>;
};

/** A face in the library's JSON shape, labels from the contract (the response schema needs all keys). */
function fakeFace(score: number) {
  const spread = (labels: string[]) => ({
    label: labels[0],
    probabilities: Object.fromEntries(labels.map((label, i) => [label, i === 0 ? 1 : 0])),
  });
  const point = { x: 1, y: 2 };
  return {
    box: { x: 1, y: 2, width: 30, height: 30 },
    score,
    landmarks: {
      rightEye: point,
      leftEye: point,
      noseTip: point,
      mouth: point,
      rightEar: point,
      leftEar: point,
    },
    age: { years: 30, low: 20, high: 40, std: 6 },
    gender: { label: contract.outputs.gender.labels[0], probability: 0.9 },
    ethnicity: spread(contract.outputs.ethnicity.labels),
    emotion: spread(contract.outputs.emotion.labels),
    attributes: { smile: { probability: 0.8, present: true } },
  };
}
const FAKE_RESULT = { width: 10, height: 20, faces: [fakeFace(0.9), fakeFace(0.8)] };

/** A fake analyzer: records calls and concurrency, optionally waits `delayMs` or until released. */
class FakeAnalyzer implements ImageAnalyzer {
  calls: Uint8Array[] = [];
  running = 0;
  maxRunning = 0;
  delayMs = 0;
  /** Stop at the request's deadline (like an analyzer that honours the signal). */
  honourSignal = false;
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

  /** The limits of the last call. */
  limits: { maxPixels: number; timeoutSeconds: number; signal: AbortSignal } | null = null;

  async analyze(
    image: Uint8Array,
    limits: { maxPixels: number; timeoutSeconds: number; signal: AbortSignal },
  ): Promise<{ width: number; height: number; faces: object[] }> {
    this.calls.push(image);
    this.limits = limits;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.gate) await this.gate;
      if (this.delayMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, this.delayMs);
          if (this.honourSignal) {
            limits.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(limits.signal.reason as Error);
            });
          }
        });
      }
      if (this.failWith) throw this.failWith;
      return FAKE_RESULT;
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
    expect(await raw.json()).toEqual(FAKE_RESULT);
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
    expect((await fetch(`${url}/models/metrics.json`)).status).toBe(404);
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
      writeFileSync(path.join(webRoot, '.env'), 'SECRET=1');
      const { url: url2 } = await start(new FakeAnalyzer(), {
        webRoot: path.relative(process.cwd(), webRoot),
      });
      const page = await fetch(`${url2}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>demo</title>');
      expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      await expectError(await fetch(`${url2}/.env`), 404, 'not_found');
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

interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
  /** Milliseconds from connecting to the end of the response. */
  ms: number;
}

/**
 * Writes `data` on a raw TCP connection and reads one HTTP response (null when the server closes
 * without answering). The socket stays open until then, like a stalled or slow client.
 */
function rawRequest(
  url: string,
  data: string | Buffer,
): { socket: net.Socket; response: Promise<RawResponse | null> } {
  const { hostname, port } = new URL(url);
  const began = performance.now();
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => {});
  socket.write(data);
  const response = new Promise<RawResponse | null>((resolve) => {
    let received = Buffer.alloc(0);
    const parse = () => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = new Headers(lines.map((line) => line.split(/:\s*/, 2) as [string, string]));
      const body = received.subarray(end + 4);
      const length = Number(headers.get('content-length') ?? NaN);
      if (!(body.length >= length)) return null;
      return {
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: body.toString('utf8'),
        ms: performance.now() - began,
      };
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parse();
      if (parsed) resolve(parsed);
    });
    socket.on('close', () => resolve(parse()));
  });
  return { socket, response };
}

const headersOf = (url: string, type: string, length: number) =>
  `POST /v1/analyze HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n`;

/** The value of one Prometheus series in the server's /metrics, 0 when absent. */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** A raw response, checked against the document like every fetched one. */
function checkRaw(url: string, response: RawResponse | null, path = '/v1/analyze'): RawResponse {
  expect(response).not.toBeNull();
  const checker = fetch.checkers.get(new URL(url).origin)!;
  checker.check('POST', `${url}${path}`, response!.status, response!.headers, response!.body);
  return response!;
}

describe('facemtl serve against careless and hostile clients (fake analyzer)', () => {
  it('refuses with 503 before reading the body once every place is taken, uploads included', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer, { maxConcurrent: 1, maxQueued: 1, timeoutMs: 10_000 });
    analyzer.hold();
    const running = postImage(url, sampleBytes);
    // A slow upload holds the one waiting place while its body trickles in.
    const slow = rawRequest(url, headersOf(url, 'image/jpeg', 100_000) + 'x'.repeat(10));
    await waitFor(async () => {
      const health = (await (await fetch(`${url}/healthz`)).json()) as { active: number; uploading: number };
      return health.active === 1 && health.uploading === 1;
    });

    // Headers only, 5 MB announced: answered without the body ever being sent.
    const refused = rawRequest(url, headersOf(url, 'image/jpeg', 5_000_000));
    const answer = checkRaw(url, await refused.response);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).error.code).toBe('busy');
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    refused.socket.destroy();

    analyzer.release();
    expect((await running).status).toBe(200);
    slow.socket.destroy();
    await waitFor(async () => {
      const health = (await (await fetch(`${url}/healthz`)).json()) as { uploading: number; queued: number };
      return health.uploading === 0 && health.queued === 0;
    });
    expect((await postImage(url, sampleBytes)).status).toBe(200);
    expect(analyzer.calls).toHaveLength(2);
  });

  it('answers stalled headers and stalled bodies with a 408 JSON error within the timeout', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer, { timeoutMs: 600 });
    await fetch(`${url}/healthz`); // loads the document for checkRaw
    const stalledHeaders = rawRequest(url, `POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: ima`);
    const stalledBody = rawRequest(url, headersOf(url, 'image/jpeg', 1000) + 'x'.repeat(10));
    for (const { response } of [stalledHeaders, stalledBody]) {
      const answer = checkRaw(url, await response);
      expect(answer.status).toBe(408);
      expect(JSON.parse(answer.body).error.code).toBe('request_timeout');
      expect(answer.ms).toBeGreaterThanOrEqual(500);
      expect(answer.ms).toBeLessThan(3000); // the timeout plus Node's check interval, not 30 s or more
    }
    expect(await metric(url, 'facemtl_errors_total{code="request_timeout"}')).toBe(2);
    expect(await metric(url, 'facemtl_errors_total{code="internal"}')).toBe(0);
    expect(analyzer.calls).toHaveLength(0);
  });

  it('closes connections beyond --max-connections at once and serves again when they go', async () => {
    const { url } = await start(new FakeAnalyzer(), { maxConnections: 2 });
    const idle = [rawRequest(url, ''), rawRequest(url, '')];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const extra = rawRequest(url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await extra.response).toBeNull();
    for (const { socket } of idle) socket.destroy();
    await waitFor(async () => {
      const probe = rawRequest(url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      return (await probe.response)?.status === 200;
    });
  });

  it('answers broken multipart bodies, two files and aborted uploads with 400, never `internal`', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer);
    const multipart = (boundary: string, body: string) =>
      postImage(url, body, boundary ? `multipart/form-data; boundary=${boundary}` : 'multipart/form-data');
    const part = (boundary: string, name: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.jpg"\r\n` +
      `Content-Type: image/jpeg\r\n\r\n${'x'.repeat(100)}\r\n`;

    await expectError(await multipart('', part('b', 'image') + '--b--\r\n'), 400, 'bad_multipart');
    await expectError(await multipart('other', part('b', 'image') + '--b--\r\n'), 400, 'bad_multipart');
    await expectError(await multipart('b', part('b', 'image').slice(0, 120)), 400, 'bad_multipart');
    await expectError(await multipart('b', '\u0000\u00ff random bytes \r\n\r\n--'), 400, 'bad_multipart');
    const twoFiles = new FormData();
    twoFiles.append('a', new Blob([sampleBytes], { type: 'image/jpeg' }), 'a.jpg');
    twoFiles.append('b', new Blob([sampleBytes], { type: 'image/jpeg' }), 'b.jpg');
    await expectError(await postForm(url, twoFiles), 400, 'too_many_files');

    // Clients that give up half-way through their body, raw and multipart.
    for (const head of [
      headersOf(url, 'image/jpeg', 100_000),
      headersOf(url, 'multipart/form-data; boundary=b', 100_000) + part('b', 'image'),
    ]) {
      const aborted = rawRequest(url, head + 'x'.repeat(1000));
      await new Promise((resolve) => setTimeout(resolve, 100));
      aborted.socket.destroy();
    }
    await waitFor(async () => (await metric(url, 'facemtl_errors_total{code="aborted"}')) === 2);
    expect(await metric(url, 'facemtl_errors_total{code="internal"}')).toBe(0);
    expect(analyzer.calls).toHaveLength(0);
    expect((await postImage(url, sampleBytes)).status).toBe(200);
  });

  it('parses media types with parameters and any case, and answers OPTIONS/HEAD with 405', async () => {
    const { url } = await start(new FakeAnalyzer());
    for (const type of ['image/jpeg; charset=binary', 'IMAGE/PNG', 'application/octet-stream; foo=bar']) {
      expect((await postImage(url, sampleBytes, type)).status, type).toBe(200);
    }
    for (const type of ['text/plain; x=image/jpeg', 'image/', 'imagex/jpeg']) {
      await expectError(await postImage(url, sampleBytes, type), 415, 'unsupported_media_type');
    }
    for (const method of ['OPTIONS', 'DELETE']) {
      const response = await fetch(`${url}/v1/analyze`, { method });
      expect(response.headers.get('allow')).toBe('POST');
      await expectError(response, 405, 'method_not_allowed');
    }
    const head = await fetch(`${url}/v1/analyze`, { method: 'HEAD' });
    expect(head.status).toBe(405);
  });

  it('counts a job still running past its deadline in Retry-After and in the places it holds', async () => {
    const analyzer = new FakeAnalyzer();
    analyzer.delayMs = 4000;
    const { url } = await start(analyzer, { maxConcurrent: 1, maxQueued: 0, timeoutMs: 1000 });
    const began = performance.now();
    await expectError(await postImage(url, sampleBytes), 504, 'timeout');
    await new Promise((resolve) => setTimeout(resolve, 2100 - (performance.now() - began)));

    // The overdue job still holds the only slot: refused, and told to wait about as long as it has run.
    const refused = await postImage(url, sampleBytes);
    await expectError(refused, 503, 'busy');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);
    expect(await metric(url, 'facemtl_inferences_overdue')).toBe(1);
    expect(analyzer.maxRunning).toBe(1);
  });

  it('gives the decoder the time left to the deadline', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer, { timeoutMs: 5000, maxPixels: 1234 });
    expect((await postImage(url, sampleBytes)).status).toBe(200);
    expect(analyzer.limits!.maxPixels).toBe(1234);
    expect(analyzer.limits!.timeoutSeconds).toBeGreaterThanOrEqual(1);
    expect(analyzer.limits!.timeoutSeconds).toBeLessThanOrEqual(5);
    expect(analyzer.limits!.signal.aborted).toBe(false);
  });

  it('gives the slot back at the deadline when the analyzer honours the abort signal', async () => {
    const analyzer = new FakeAnalyzer();
    analyzer.delayMs = 5000;
    analyzer.honourSignal = true;
    const { url } = await start(analyzer, { maxConcurrent: 1, maxQueued: 0, timeoutMs: 400 });
    const began = performance.now();
    await expectError(await postImage(url, sampleBytes), 504, 'timeout');
    analyzer.delayMs = 0;
    expect((await postImage(url, sampleBytes)).status).toBe(200);
    expect(performance.now() - began).toBeLessThan(4000);
  });

  it('says what is wrong with an image in its own words, not the decoder’s', async () => {
    const analyzer = new FakeAnalyzer();
    const { url } = await start(analyzer);
    analyzer.failWith = new ImageError('corrupt', 'corrupt image (VipsJpeg: Premature end of JPEG file)');
    const corrupt = await expectError(await postImage(url, sampleBytes), 400, 'corrupt_image');
    expect(corrupt.error.message).toBe('the image data is corrupt or truncated');
    analyzer.failWith = new ImageError('unsupported', 'glib: XML parse error: Error domain 1 code 4');
    const svg = await expectError(await postImage(url, sampleBytes), 415, 'unsupported_image');
    expect(svg.error.message).not.toMatch(/glib|XML/);
    analyzer.failWith = new ImageError('unsupported', 'SVG is not accepted: only raster formats are');
    const clean = await expectError(await postImage(url, sampleBytes), 415, 'unsupported_image');
    expect(clean.error.message).toBe('SVG is not accepted: only raster formats are');
  });

  it('documents every error status it answers, and the optional face attributes', async () => {
    const { url } = await start(new FakeAnalyzer());
    const checker = (await fetch(`${url}/healthz`), fetch.checkers.get(new URL(url).origin)!);
    const documented = new Set(
      Object.values(checker.document.paths).flatMap((methods) =>
        Object.values(methods).flatMap((operation) => Object.keys(operation.responses)),
      ),
    );
    for (const status of Object.keys(ERROR_STATUSES)) expect(documented, status).toContain(status);
    const face = checker.document.components.schemas.Face as { properties: Record<string, unknown> };
    expect(face.properties).toHaveProperty('attributes');
    const analyze = checker.document.paths['/v1/analyze'];
    expect(Object.keys(analyze.post.responses).sort()).toEqual(
      ['200', '400', '408', '413', '415', '422', '431', '500', '503', '504'].sort(),
    );
    expect(analyze.options.responses).toHaveProperty('405');
  });
});
