/**
 * `facemtl serve` as a user runs it: the built CLI (dist/, made by `npm run build`, which `npm test`
 * runs first) with the real models, its flags, and a clean exit on SIGTERM.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { checkedFetch } from './fixtures/openapi.js';

/** Every response is checked against the server's own /openapi.json. */
const fetch = checkedFetch();

const CLI = 'dist/cli/main.js';
const built = existsSync(CLI);
if (!built) console.warn(`server-cli.test.ts skipped: ${CLI} not built (run npm run build)`);

let child: ChildProcessWithoutNullStreams | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

function serve(...flags: string[]): Promise<string> {
  child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...flags]);
  let output = '';
  return new Promise((resolve, reject) => {
    child!.stdout.on('data', (chunk) => {
      output += String(chunk);
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) resolve(url);
    });
    child!.stderr.on('data', (chunk) => (output += String(chunk)));
    child!.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}

describe.skipIf(!built)('facemtl serve (CLI)', () => {
  it('listens on loopback, applies its limit flags and exits cleanly on SIGTERM', async () => {
    const url = await serve('--max-body', '2kb', '--concurrency', '1');
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const big = await fetch(`${url}/v1/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg'),
    });
    expect(big.status).toBe(413);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('rejects a bad flag with a one-line error and a non-zero exit', () => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--max-body', 'lots'], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/max-body|size/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
