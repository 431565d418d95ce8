/**
 * `facemtl serve` options and their safe defaults. Every limit that protects the process (memory,
 * CPU, time) has a finite default; the CLI exposes each one as a flag.
 */
import path from 'node:path';

export interface ServerLimits {
  /** Largest accepted request body / uploaded file, in bytes. */
  maxBodyBytes: number;
  /** Largest accepted image, in pixels (width × height), checked from the header before decoding. */
  maxPixels: number;
  /** Analyses that may run at the same time. */
  maxConcurrent: number;
  /**
   * Requests that may wait beyond the running ones (their body arriving or waiting for a slot);
   * beyond that the server answers 503 with Retry-After before reading the body.
   */
  maxQueued: number;
  /**
   * Time for a request, in ms: its headers and body must arrive within it (else 408), and its wait
   * and analysis must end within it, counted from its arrival (else 503 while waiting, 504 running).
   */
  timeoutMs: number;
  /** Open connections (idle keep-alive and slow ones included); more are closed at once. */
  maxConnections: number;
}

export interface ServerOptions extends ServerLimits {
  /** Interface to listen on; loopback by default so nothing is exposed by accident. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Folder of the built browser demo served at `/` (skipped when it has no index.html). */
  webRoot: string | null;
  /** Log one line per request (method, URL, status, time — never the image). */
  logRequests: boolean;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  maxBodyBytes: 10 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxConcurrent: 2,
  maxQueued: 16,
  timeoutMs: 30_000,
  maxConnections: 1024,
};

export const DEFAULT_SERVER_OPTIONS: Readonly<Omit<ServerOptions, 'webRoot'>> = {
  ...DEFAULT_LIMITS,
  host: '127.0.0.1',
  port: 8080,
  logRequests: false,
};

/** Fills defaults and rejects values that would disable a limit, with a one-line message. */
export function resolveServerOptions(
  options: Partial<ServerOptions>,
  defaultWebRoot: string | null,
): ServerOptions {
  const resolved: ServerOptions = {
    ...DEFAULT_SERVER_OPTIONS,
    webRoot: defaultWebRoot,
    ...stripUndefined(options),
  };
  const positive: (keyof ServerLimits)[] = [
    'maxBodyBytes',
    'maxPixels',
    'maxConcurrent',
    'timeoutMs',
    'maxConnections',
  ];
  for (const name of positive) {
    if (!Number.isFinite(resolved[name]) || resolved[name] <= 0) {
      throw new RangeError(`${name} must be a positive number, got ${resolved[name]}`);
    }
  }
  if (!Number.isInteger(resolved.maxQueued) || resolved.maxQueued < 0) {
    throw new RangeError(`maxQueued must be a whole number ≥ 0, got ${resolved.maxQueued}`);
  }
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw new RangeError(`port must be 0–65535, got ${resolved.port}`);
  }
  // Relative folders are relative to the working directory, like every CLI path.
  if (resolved.webRoot !== null) resolved.webRoot = path.resolve(resolved.webRoot);
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
