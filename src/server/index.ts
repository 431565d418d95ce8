/**
 * `startServer(options)`: loads the models, listens, and returns a handle whose `close()` stops
 * accepting requests, lets those in flight finish, then frees the models.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadContract, type ModelContract } from '../attributes/contract.js';
import { FaceAnalyzer, type FaceAnalyzerOptions } from '../pipeline/index.js';
import { createApp, type ImageAnalyzer } from './app.js';
import { DEFAULT_WEB_ROOT, PACKAGE_ROOT } from './assets.js';
import type { ContractLabels } from './schemas.js';
import { resolveServerOptions, type ServerOptions } from './options.js';

export { createApp, type ImageAnalyzer } from './app.js';
export { HttpError } from './errors.js';
export { DEFAULT_LIMITS, DEFAULT_SERVER_OPTIONS, type ServerLimits, type ServerOptions } from './options.js';

export interface StartServerOptions extends Partial<ServerOptions> {
  /** Analyzer to serve; by default a FaceAnalyzer made with `analyzerOptions`. */
  analyzer?: ImageAnalyzer & { dispose?: () => Promise<void> | void };
  /** Model choices (precision, detector, threads…) for the default analyzer. */
  analyzerOptions?: Omit<FaceAnalyzerOptions, 'maxPixels'>;
}

export interface RunningServer {
  /** `http://host:port` actually bound (useful with port 0). */
  url: string;
  app: FastifyInstance;
  /** Stops listening, waits for in-flight requests, frees the models. Safe to call twice. */
  close(): Promise<void>;
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const { analyzer: injected, analyzerOptions, ...rest } = options;
  const resolved = resolveServerOptions(rest, DEFAULT_WEB_ROOT);
  // The server's queue decides how many analyses run; the analyzer's own bound matches it.
  const analyzer =
    injected ?? (await FaceAnalyzer.create({ ...analyzerOptions, maxConcurrency: resolved.maxConcurrent }));
  const freeModels = async () => {
    if (!injected) await analyzer.dispose?.();
  };

  let app: FastifyInstance;
  try {
    app = await createApp({
      analyzer,
      limits: resolved,
      labels: contractLabels(analyzer instanceof FaceAnalyzer ? analyzer.contract : loadContract()),
      version: packageVersion(),
      webRoot: resolved.webRoot,
      logRequests: resolved.logRequests,
    });
    await app.listen({ host: resolved.host, port: resolved.port });
  } catch (error) {
    await freeModels();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : resolved.port;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting and wait for open requests; a client that stalls a download past the request
      // timeout does not keep the process alive.
      const stalled = setTimeout(() => app.server.closeAllConnections(), resolved.timeoutMs + 1000);
      await app.close();
      clearTimeout(stalled);
      await app.inferenceQueue.onIdle(); // jobs whose caller timed out still hold the models
      await freeModels();
    })());
  return { url: `http://${host}:${port}`, app, close };
}

function contractLabels(contract: ModelContract): ContractLabels {
  const labels = (name: string) => contract.outputs[name].labels;
  const binary = contract.outputs.attributes;
  return {
    gender: labels('gender'),
    ethnicity: labels('ethnicity'),
    emotion: labels('emotion'),
    ...(binary?.kind === 'binary' ? { attributes: binary.labels } : {}),
  };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
}
