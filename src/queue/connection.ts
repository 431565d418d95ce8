/**
 * Redis connections for the queue commands. A wrong or unreachable `--redis` URL is a one-line
 * error at start-up (no endless reconnect loop before anything ran); once connected, a long-running
 * worker rides out a Redis restart by reconnecting with backoff, as BullMQ expects.
 */
import { Redis } from 'ioredis';

/** The queue every command uses unless told otherwise. */
export const DEFAULT_QUEUE = 'facemtl';

/** `host:port` of a Redis URL, for messages: never the password. */
export function describeRedis(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 6379}`;
}

/** Throws a one-line error unless `url` is a redis:// or rediss:// URL. */
export function checkRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--redis: not a URL: ${url} (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new Error(`--redis: expected a redis:// or rediss:// URL, got ${parsed.protocol}//`);
  return url;
}

/**
 * A connected client. `maxRetriesPerRequest: null` is what BullMQ requires for blocking
 * connections (workers, queue events); the first connection attempt fails fast either way.
 */
export async function connectRedis(url: string, connectTimeoutMs = 5000): Promise<Redis> {
  checkRedisUrl(url);
  let connected = false;
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectTimeout: connectTimeoutMs,
    // Before the first success: give up at once. After: reconnect with backoff up to 5 s.
    retryStrategy: (times) => (connected ? Math.min(times * 200, 5000) : null),
  });
  // Without a listener ioredis prints every reconnect error; the callers report what matters.
  let lastError: Error | undefined;
  client.on('error', (error: Error) => (lastError = error));
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    // connect() rejects with "Connection is closed."; the socket's error says why.
    const reason = (lastError ?? (error as Error)).message;
    throw new Error(`cannot connect to Redis at ${describeRedis(url)}: ${reason}`, { cause: error });
  }
  connected = true;
  return client;
}
