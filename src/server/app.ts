/**
 * The HTTP API as a Fastify instance (not yet listening): `POST /v1/analyze`, `GET /healthz`,
 * `GET /metrics`, `GET /openapi.json`, and the browser demo with the model files it loads.
 *
 * The analyzer is injected, so tests can drive the queue and timeouts with a slow fake.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import { assetMounts, builtWebRoot } from './assets.js';
import { HttpError, toHttpError } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { openApiDocument, type ContractLabels } from './openapi.js';
import type { ServerLimits } from './options.js';
import { InferenceQueue, QueueFullError, QueueTimeoutError } from './queue.js';

/** What the server needs from the face analyzer: bytes in, the library's JSON out. */
export interface ImageAnalyzer {
  /**
   * Analyses an encoded image. Must reject images over `maxPixels` from their header, before
   * decoding them, with an `ImageError` (code `too_large`).
   */
  analyze(image: Uint8Array, limits: { maxPixels: number }): Promise<{ faces: readonly unknown[] }>;
}

export interface AppOptions {
  analyzer: ImageAnalyzer;
  limits: ServerLimits;
  labels: ContractLabels;
  version: string;
  /** Built demo folder served at `/`, or null. */
  webRoot: string | null;
  logRequests: boolean;
}

const API_ROUTE = '/v1/analyze';

export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const { analyzer, limits } = options;
  const app = Fastify({
    logger: options.logRequests ? { level: 'info' } : false,
    bodyLimit: limits.maxBodyBytes,
    // Bounds a slow upload too: the whole request must arrive within the timeout.
    requestTimeout: limits.timeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  const queue = new InferenceQueue({ maxConcurrent: limits.maxConcurrent, maxQueued: limits.maxQueued });
  const metrics = new ServerMetrics(queue);
  const retryAfter = new RetryAfterEstimate(limits.maxConcurrent);
  app.decorate('inferenceQueue', queue);

  // Bodies: raw image bytes or multipart. Fastify's JSON/text parsers go, so anything else is a 415.
  app.removeAllContentTypeParsers();
  const passBytes = (_request: unknown, body: string | Buffer, done: (error: null, body: Buffer) => void) =>
    done(null, body as Buffer);
  app.addContentTypeParser(/^image\/[\w.+-]+$/, { parseAs: 'buffer' }, passBytes);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, passBytes);
  await app.register(fastifyMultipart, {
    limits: { fileSize: limits.maxBodyBytes, files: 1, fields: 8, parts: 16, fieldSize: 1024 },
  });

  // Every error response goes through here (Fastify's own 413/415 too): one JSON shape, one count.
  app.setErrorHandler((error, request, reply) => {
    const httpError = toHttpError(error);
    if (httpError.code === 'internal') {
      // Log the failure, never the request body.
      request.log.error({ err: { message: (error as Error)?.message } }, 'request failed');
    }
    metrics.errors.inc({ code: httpError.code });
    void reply.status(httpError.statusCode).headers(httpError.headers).send(httpError.toBody());
  });
  app.setNotFoundHandler((request) => {
    throw new HttpError(404, 'not_found', `no route for ${request.method} ${request.url}`);
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.latency.observe(reply.elapsedTime / 1000, { route });
  });
  // During shutdown, answer in-flight requests with `Connection: close` so keep-alive sockets end
  // with them and the server can finish closing.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('Connection', 'close');
    // Cross-origin isolation lets onnxruntime-web use threads (SharedArrayBuffer) in the demo.
    void reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    void reply.header('Cross-Origin-Embedder-Policy', 'require-corp');
    return payload;
  });

  app.post(API_ROUTE, async (request, reply) => {
    const image = await readImage(request);
    // The deadline counts from the request's arrival, upload included.
    const remainingMs = Math.max(1, limits.timeoutMs - reply.elapsedTime);
    try {
      const result = await queue.run(async () => {
        const started = performance.now();
        const analysis = await analyzer.analyze(image, { maxPixels: limits.maxPixels });
        retryAfter.record(performance.now() - started);
        return analysis;
      }, remainingMs);
      metrics.images.inc();
      metrics.faces.inc({}, result.faces.length);
      return result;
    } catch (error) {
      if (
        error instanceof QueueFullError ||
        (error instanceof QueueTimeoutError && error.phase === 'queued')
      ) {
        const code = error instanceof QueueFullError ? 'busy' : 'timeout';
        throw new HttpError(503, code, error.message, {
          'Retry-After': String(retryAfter.seconds(queue.queued)),
        });
      }
      if (error instanceof QueueTimeoutError) throw new HttpError(504, 'timeout', error.message);
      throw error;
    }
  });

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: API_ROUTE,
    handler: async () => {
      throw new HttpError(405, 'method_not_allowed', `${API_ROUTE} takes POST with an image`, {
        Allow: 'POST',
      });
    },
  });

  app.get('/healthz', async () => ({
    status: 'ok',
    version: options.version,
    active: queue.active,
    queued: queue.queued,
  }));
  app.get('/metrics', async (_request, reply) => {
    void reply.type('text/plain; version=0.0.4; charset=utf-8');
    return metrics.render();
  });
  const document = openApiDocument(options.labels, limits, options.version);
  app.get('/openapi.json', async () => document);

  await registerStaticFiles(app, options.webRoot);
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    inferenceQueue: InferenceQueue;
  }
}

/** The image bytes of a raw-body or multipart request, checked for emptiness. */
async function readImage(request: FastifyRequest): Promise<Buffer> {
  let bytes: Buffer;
  if (request.isMultipart()) {
    const file = await request.file();
    if (!file) throw new HttpError(400, 'missing_file', 'the multipart form has no file field');
    bytes = await file.toBuffer();
  } else if (Buffer.isBuffer(request.body)) {
    bytes = request.body;
  } else if (request.body === undefined || request.body === null) {
    throw new HttpError(400, 'empty_image', 'the request has no body: send an image');
  } else {
    throw new HttpError(415, 'unsupported_media_type', 'send an image or multipart/form-data');
  }
  if (bytes.length === 0) throw new HttpError(400, 'empty_image', 'the image is empty (0 bytes)');
  return bytes;
}

/**
 * Retry-After for a refused request: how long the work ahead of it should take, from a moving
 * average of recent analysis times. At least one second (the header counts whole seconds).
 */
class RetryAfterEstimate {
  private averageMs = 0;

  constructor(private readonly maxConcurrent: number) {}

  record(durationMs: number): void {
    this.averageMs = this.averageMs === 0 ? durationMs : 0.8 * this.averageMs + 0.2 * durationMs;
  }

  seconds(queued: number): number {
    return Math.max(1, Math.ceil((this.averageMs * (queued + 1)) / this.maxConcurrent / 1000));
  }
}

async function registerStaticFiles(app: FastifyInstance, webRoot: string | null): Promise<void> {
  for (const mount of assetMounts()) {
    await app.register(fastifyStatic, {
      root: mount.dir,
      prefix: mount.prefix,
      decorateReply: false,
      index: false,
      allowedPath: (pathName) => mount.files.test(pathName.replace(/^\//, '')),
    });
  }
  const root = builtWebRoot(webRoot);
  if (root) {
    await app.register(fastifyStatic, { root, prefix: '/', decorateReply: false });
  } else {
    app.get('/', async (_request, reply) => {
      void reply.type('text/plain; charset=utf-8');
      return (
        'facemtl API: POST /v1/analyze, GET /healthz, /metrics, /openapi.json. ' +
        'The browser demo is not built (run `npm run build:web`).\n'
      );
    });
  }
}
