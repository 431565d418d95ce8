/**
 * The HTTP API as a Fastify instance (not yet listening): `POST /v1/analyze`, `GET /healthz`,
 * `GET /metrics`, `GET /openapi.json`, and the browser demo with the model files it loads.
 * Routes carry JSON schemas (src/server/schemas.ts); @fastify/swagger turns them into the
 * OpenAPI document.
 *
 * The analyzer is injected, so tests can drive the queue and timeouts with a slow fake.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import { assetMounts, builtWebRoot } from './assets.js';
import { HttpError, toHttpError } from './errors.js';
import { ServerMetrics } from './metrics.js';
import type { ServerLimits } from './options.js';
import { InferenceQueue, QueueTimeoutError, type Admission } from './queue.js';
import {
  analyzeRequestBody,
  analyzeRouteSchema,
  healthRouteSchema,
  metricsRouteSchema,
  notAllowedRouteSchema,
  openApiRouteSchema,
  sharedSchemas,
  staticFilesSchema,
  type ContractLabels,
} from './schemas.js';

/** What the server needs from the face analyzer: bytes in, the library's JSON out. */
export interface ImageAnalyzer {
  /**
   * Analyses an encoded image. Must reject images over `maxPixels` from their header, before
   * decoding them, with an `ImageError` (code `too_large`). `timeoutSeconds` is the time left
   * to the request's deadline (the loader stops decoding after it) and `signal` aborts at that
   * deadline: an analyzer that stops then gives its slot back in time.
   */
  analyze(
    image: Uint8Array,
    limits: { maxPixels: number; timeoutSeconds: number; signal: AbortSignal },
  ): Promise<{ faces: readonly unknown[] }>;
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
/** Set on a socket whose request ended in a client error (counted there), so the handler's abort is not counted again. */
const COUNTED = Symbol('facemtl.clientErrorCounted');

export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const { analyzer, limits } = options;
  const queue = new InferenceQueue({ maxConcurrent: limits.maxConcurrent, maxQueued: limits.maxQueued });
  const metrics = new ServerMetrics(queue);
  const durations = new MovingAverage();
  const busy = (code: string, message: string) =>
    new HttpError(503, code, message, {
      'Retry-After': String(Math.max(1, Math.ceil(queue.expectedWaitMs(durations.averageMs) / 1000))),
    });

  const app = Fastify({
    logger: options.logRequests ? { level: 'info' } : false,
    bodyLimit: limits.maxBodyBytes,
    serverFactory: (handler) => boundedHttpServer(handler, limits),
    // Node's timeouts and malformed requests end here, before any route: same JSON shape.
    clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket) {
      const httpError = clientError(error);
      if (!httpError || socket.destroyed) return;
      (socket as Socket & { [COUNTED]?: boolean })[COUNTED] = true;
      metrics.errors.inc({ code: httpError.code });
      metrics.requests.inc({ route: 'unmatched', status: String(httpError.statusCode) });
      if (
        socket.writable &&
        !(socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
      ) {
        const body = JSON.stringify(httpError.toBody());
        socket.write(
          `HTTP/1.1 ${httpError.statusCode} ${httpError.statusText}\r\nContent-Type: application/json; charset=utf-8\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    },
    // Our onRequest hook answers during shutdown, in the documented shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('admission', null);
  app.decorate('inferenceQueue', queue);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'facemtl',
        version: options.version,
        description:
          'Face analysis (age, gender, ethnicity, emotion, yes/no attributes) with one small multi-task CNN. ' +
          'Images are analysed in memory and never stored or logged. Every error is `{ error: { code, message } }`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
    },
    // Shared schemas keep their `$id` as their name under components.schemas.
    exposeHeadRoutes: true,
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // The static routes (demo, models) have no schema of their own: describe what they answer.
    transform: ({ schema, url }) =>
      url.includes('*')
        ? { schema: { ...staticFilesSchema(staticSummary(url)), ...schema }, url }
        : { schema, url },
  });
  for (const schema of sharedSchemas(options.labels)) app.addSchema(schema);

  // Bodies: raw image bytes or multipart. Fastify's JSON/text parsers go, so anything else is a 415.
  app.removeAllContentTypeParsers();
  const passBytes = (_request: unknown, body: string | Buffer, done: (error: null, body: Buffer) => void) =>
    done(null, body as Buffer);
  // Fastify matches a RegExp against the whole normalised header, parameters included.
  app.addContentTypeParser(/^image\/[\w!#$%&'*+.^`|~-]+(?:;|$)/, { parseAs: 'buffer' }, passBytes);
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
    // A request that ended in a client error (408, aborted…) was counted there.
    if (!(request.raw.socket as Socket & { [COUNTED]?: boolean })?.[COUNTED]) {
      metrics.errors.inc({ code: httpError.code });
    }
    if (!request.raw.complete) lingerThenClose(request.raw, reply.raw);
    void reply.status(httpError.statusCode).headers(httpError.headers).send(httpError.toBody());
  });
  app.setNotFoundHandler((request) => {
    throw new HttpError(404, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`);
  });

  // During shutdown, answer with `Connection: close` so keep-alive sockets end and the server can
  // finish closing; new requests on such sockets get a 503.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing)
      throw new HttpError(503, 'shutting_down', 'the server is shutting down', { 'Retry-After': '1' });
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('Connection', 'close');
    // Cross-origin isolation lets onnxruntime-web use threads (SharedArrayBuffer) in the demo.
    void reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    void reply.header('Cross-Origin-Embedder-Policy', 'require-corp');
    return payload;
  });

  app.post(
    API_ROUTE,
    {
      schema: analyzeRouteSchema,
      config: {
        swaggerTransform: ({ schema, url }: { schema: object; url: string }) => ({
          schema: { ...schema, body: analyzeRequestBody(limits) },
          url,
        }),
      },
      // Admission before the body is read: when every place is taken, refuse without reading it.
      onRequest: async (request, reply) => {
        const admission = queue.admit();
        if (!admission)
          throw busy('busy', 'server busy: too many images being received or analysed, retry later');
        request.admission = admission;
        reply.raw.once('close', () => admission.release());
      },
    },
    async (request, reply) => {
      const image = await readImage(request);
      // The deadline counts from the request's arrival, upload included.
      const remainingMs = Math.max(1, limits.timeoutMs - reply.elapsedTime);
      try {
        const deadline = performance.now() + remainingMs;
        const result = await request.admission!.run(async (signal) => {
          const started = performance.now();
          const timeoutSeconds = Math.max(1, Math.floor((deadline - started) / 1000));
          const analysis = await analyzer.analyze(image, {
            maxPixels: limits.maxPixels,
            timeoutSeconds,
            signal,
          });
          durations.record(performance.now() - started);
          return analysis;
        }, remainingMs);
        metrics.images.inc();
        metrics.faces.inc(result.faces.length);
        return result;
      } catch (error) {
        if (error instanceof QueueTimeoutError) {
          throw error.phase === 'queued'
            ? busy('timeout', error.message)
            : new HttpError(504, 'timeout', error.message);
        }
        throw error;
      }
    },
  );

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: API_ROUTE,
    schema: notAllowedRouteSchema,
    handler: async () => {
      throw new HttpError(405, 'method_not_allowed', `${API_ROUTE} takes POST with an image`, {
        Allow: 'POST',
      });
    },
  });

  app.get('/healthz', { schema: healthRouteSchema }, async () => ({
    status: 'ok',
    version: options.version,
    active: queue.active,
    queued: queue.queued,
    uploading: queue.uploading,
  }));
  app.get('/metrics', { schema: metricsRouteSchema }, async (_request, reply) => {
    void reply.type(metrics.contentType);
    return metrics.render();
  });
  app.get('/openapi.json', { schema: openApiRouteSchema }, async () => app.swagger());

  await registerStaticFiles(app, options.webRoot);
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    inferenceQueue: InferenceQueue;
  }
  interface FastifyRequest {
    /** The request's place in the queue (POST /v1/analyze only). */
    admission: Admission | null;
  }
}

/**
 * Node's HTTP server with the request timeout applied to the whole request (headers and body),
 * checked every 100–1000 ms instead of Node's default 30 s, and a bound on open sockets.
 */
function boundedHttpServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  limits: ServerLimits,
) {
  const server = createServer(
    {
      requestTimeout: limits.timeoutMs,
      headersTimeout: limits.timeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.timeoutMs / 10)),
      keepAliveTimeout: 5000,
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/**
 * For an answer sent before the request's body arrived (busy, too large…): let the client go on
 * sending for a moment, so that it reads the answer instead of a broken pipe, then close the
 * connection rather than read the whole unwanted body.
 */
function lingerThenClose(request: IncomingMessage, response: ServerResponse, lingerMs = 2000): void {
  response.once('finish', () => {
    if (request.complete) return;
    setTimeout(() => {
      if (!request.complete) request.socket.destroy();
    }, lingerMs).unref();
  });
}

/** Node's client errors (timeouts, malformed HTTP) as our errors; null for a peer already gone. */
function clientError(error: NodeJS.ErrnoException): HttpError | null {
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return null;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new HttpError(408, 'request_timeout', 'the request did not arrive within the request timeout');
  }
  // The connection ended in the middle of a request: the client gave up (counted, never answered).
  if (error.code === 'HPE_INVALID_EOF_STATE') {
    return new HttpError(400, 'aborted', 'the request ended before its body was complete');
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new HttpError(431, 'headers_too_large', 'the request headers are too large');
  }
  return new HttpError(400, 'bad_request', 'malformed HTTP request');
}

/** The image bytes of a raw-body or multipart request: exactly one non-empty file. */
async function readImage(request: FastifyRequest): Promise<Buffer> {
  let bytes: Buffer | undefined;
  if (request.isMultipart()) {
    try {
      for await (const part of request.parts()) {
        if (part.type === 'file') bytes = await part.toBuffer();
      }
    } catch (error) {
      // Limits keep their status (413…); anything else is a malformed or cut-off form.
      const mapped = toHttpError(error);
      throw mapped.code === 'internal' || mapped.code === 'bad_request'
        ? new HttpError(400, 'bad_multipart', 'the multipart form is malformed or incomplete')
        : mapped;
    }
    if (!bytes) throw new HttpError(400, 'missing_file', 'the multipart form has no file field');
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

/** Exponential moving average of recent analysis times (0 until the first one). */
class MovingAverage {
  averageMs = 0;

  record(durationMs: number): void {
    this.averageMs = this.averageMs === 0 ? durationMs : 0.8 * this.averageMs + 0.2 * durationMs;
  }
}

function staticSummary(url: string): string {
  if (url.startsWith('/models/blazeface/')) return 'The BlazeFace detector models (.onnx) for the demo';
  if (url.startsWith('/models/')) return 'The model contract (facemtl.json) and attribute models (.onnx)';
  return 'The browser demo (built web/dist)';
}

async function registerStaticFiles(app: FastifyInstance, webRoot: string | null): Promise<void> {
  for (const mount of assetMounts()) {
    await app.register(fastifyStatic, {
      root: mount.dir,
      prefix: mount.prefix,
      decorateReply: false,
      index: false,
      schemaHide: false,
      allowedPath: (pathName) => mount.files.test(pathName.replace(/^\//, '')),
    });
  }
  const root = builtWebRoot(webRoot);
  if (root) {
    // Dotfiles (.env, .git…) in the demo folder are not part of the demo: 404.
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      decorateReply: false,
      dotfiles: 'ignore',
      schemaHide: false,
    });
  } else {
    app.get('/', { schema: staticFilesSchema('The browser demo (not built)') }, async (_request, reply) => {
      void reply.type('text/plain; charset=utf-8');
      return (
        'facemtl API: POST /v1/analyze, GET /healthz, /metrics, /openapi.json. ' +
        'The browser demo is not built (run `npm run build:web`).\n'
      );
    });
  }
}
