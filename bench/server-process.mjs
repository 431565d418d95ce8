/* global fetch */
/**
 * Shared by the server benchmarks: starts `facemtl serve` (built CLI) on a free loopback port and
 * reads its resident memory.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Starts `node dist/cli/main.js serve --port 0 …flags` and resolves `{ child, url }`. */
export function startServer(flags) {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--port', '0', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      const url = /listening on (http:\/\/\S+)/.exec(String(chunk))?.[1];
      if (url) resolve({ child, url });
    });
  });
}

/** The server's resident memory in MiB, from /proc (Linux) or else from its /metrics. */
export async function residentMemoryMiB(child, url) {
  try {
    const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]);
    return kib / 1024;
  } catch {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)[1]) / 2 ** 20;
  }
}

/** POSTs an image and resolves the response. */
export function postImage(url, body, type = 'image/jpeg') {
  return fetch(`${url}/v1/analyze`, { method: 'POST', headers: { 'content-type': type }, body });
}
