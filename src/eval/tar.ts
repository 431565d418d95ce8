/**
 * Streaming reads of (gzipped) tar archives: dataset archives are read in one pass without
 * extracting them to disk. The format (ustar, GNU long names, pax headers) is `tar-stream`'s job;
 * this module adds gzip detection, the `want` filter and one-line errors naming the archive.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';

export interface TarEntry {
  /** Path inside the archive, with `/` separators. */
  name: string;
  /** File contents. */
  data: Buffer;
}

/** True when the file starts with the gzip magic bytes. */
async function isGzip(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    await file.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await file.close();
  }
}

/**
 * Regular files of a `.tar` or `.tar.gz`, in archive order. `want(name)` decides which entries are
 * returned (the others are skipped without copying), so a pass that only needs a few small files
 * stays cheap.
 */
export async function* readTar(
  path: string,
  want: (name: string) => boolean = () => true,
): AsyncGenerator<TarEntry> {
  const gzip = await isGzip(path).catch((error: unknown) => {
    throw tarError(path, error);
  });
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const source: Readable = gzip ? file.pipe(createGunzip({ chunkSize: 1 << 20 })) : file;
  file.on('error', (error) => source.destroy(error));
  const archive = extract();
  source.on('error', (error) => archive.destroy(error));
  source.pipe(archive);
  try {
    for await (const entry of archive) {
      const { name, type } = entry.header;
      if ((type === 'file' || type === 'contiguous-file') && want(name)) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        yield { name, data: Buffer.concat(chunks) };
      } else {
        entry.resume(); // skip its data
      }
    }
  } catch (error) {
    throw tarError(path, error);
  } finally {
    source.destroy();
    archive.destroy();
  }
}

/** tar-stream's and zlib's errors, as one line that names the archive. */
function tarError(path: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code?.startsWith('Z_')) return new Error(`${path}: corrupt gzip data (${message})`, { cause: error });
  if (code === 'ENOENT') return new Error(`${path}: no such file`, { cause: error });
  if (/invalid tar header/i.test(message))
    return new Error(`${path}: not a tar archive (bad header)`, { cause: error });
  if (/unexpected end/i.test(message))
    return new Error(`${path}: truncated or not a tar archive`, { cause: error });
  return new Error(`${path}: cannot read the archive (${message.split('\n')[0]})`, { cause: error });
}
