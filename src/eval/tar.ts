/**
 * A small streaming reader of (gzipped) tar archives: dataset archives are read in one pass
 * without extracting them to disk. Handles ustar names with a prefix, GNU long names and pax
 * `path` records, which is what `tar` and Python's `tarfile` write.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

export interface TarEntry {
  /** Path inside the archive, with `/` separators. */
  name: string;
  /** File contents; empty when the `want` filter declined the entry. */
  data: Buffer;
}

const BLOCK = 512;

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
 * Regular files of a `.tar` or `.tar.gz`, in archive order. `want(name)` decides which entries'
 * bytes are kept (the others are skipped without copying), so a pass that only needs a few
 * small files stays cheap.
 */
export async function* readTar(
  path: string,
  want: (name: string) => boolean = () => true,
): AsyncGenerator<TarEntry> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = (await isGzip(path)) ? file.pipe(createGunzip({ chunkSize: 1 << 20 })) : file;
  file.on('error', (error) => stream.destroy(error));

  let pending: Buffer = Buffer.alloc(0);
  let skipBytes = 0; // data of a declined entry still to discard
  let longName: string | null = null; // from a GNU 'L' or pax 'x' entry, for the next header
  let entry: { name: string; type: string; size: number } | null = null; // header read, data pending
  let zeroBlocks = 0;

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (true) {
        if (skipBytes > 0) {
          const n = Math.min(skipBytes, pending.length);
          pending = pending.subarray(n);
          skipBytes -= n;
          if (skipBytes > 0) break;
        }
        if (!entry) {
          if (pending.length < BLOCK) break;
          const header = pending.subarray(0, BLOCK);
          pending = pending.subarray(BLOCK);
          if (header.every((byte) => byte === 0)) {
            if (++zeroBlocks === 2) return;
            continue;
          }
          zeroBlocks = 0;
          if (!checksumOk(header)) throw new Error(`${path}: not a tar archive (bad header checksum)`);
          const type = String.fromCharCode(header[156] || 0x30);
          const name = longName ?? headerName(header);
          longName = null;
          const size = headerSize(header);
          const isFile = type === '0' || type === '7';
          const isLongName = type === 'L' || type === 'x';
          if (!isLongName && !(isFile && want(name))) {
            skipBytes = padded(size);
            continue;
          }
          entry = { name, type, size };
        }
        if (pending.length < padded(entry.size)) break;
        const data = Buffer.from(pending.subarray(0, entry.size));
        pending = pending.subarray(padded(entry.size));
        const { name, type } = entry;
        entry = null;
        if (type === 'L') longName = cString(data);
        else if (type === 'x') longName = paxPath(data);
        else yield { name, data };
      }
    }
    // a tar ends with two zero blocks (returned above): anything else is cut short or not a tar
    throw new Error(`${path}: truncated or not a tar archive`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code?.startsWith('Z_'))
      throw new Error(`${path}: corrupt gzip data (${(error as Error).message})`, { cause: error });
    throw error;
  } finally {
    stream.destroy();
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

function headerName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  const isUstar = header.subarray(257, 262).toString('latin1') === 'ustar';
  const prefix = isUstar ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** Octal ASCII, or GNU base-256 when the first byte has its high bit set (files over 8 GiB). */
function headerSize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (field[0] & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = cString(field).trim();
  return text ? parseInt(text, 8) : 0;
}

function checksumOk(header: Buffer): boolean {
  const stored = parseInt(cString(header.subarray(148, 156)).trim(), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum === stored;
}

/** The `path` record of a pax extended header (`"<len> path=<value>\n"` records), if any. */
function paxPath(data: Buffer): string | null {
  let offset = 0;
  let path: string | null = null;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space < 0) break;
    const length = parseInt(data.subarray(offset, space).toString('latin1'), 10);
    if (!(length > 0)) break;
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    if (record.startsWith('path=')) path = record.slice(5);
    offset += length;
  }
  return path;
}
