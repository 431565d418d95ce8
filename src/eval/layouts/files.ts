/** Listing image files of dataset folders, and telling archives from folders. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|bmp|gif|tiff?|avif)$/i;

export function isArchive(path: string): boolean {
  return /\.(tar\.gz|tgz|tar)$/i.test(path);
}

/** What `path` is, with a one-line error when it does not exist. */
export async function pathKind(path: string): Promise<'directory' | 'file'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'file';
  } catch {
    throw new Error(`${path}: no such file or directory`);
  }
}

/** Entries of a directory, sorted by name, split into files and subdirectories. */
export async function listDirectory(path: string): Promise<{ files: string[]; directories: string[] }> {
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    files: entries.filter((entry) => entry.isFile()).map((entry) => entry.name),
    directories: entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name),
  };
}

/** The bytes of a file, or null (and a skip reason) when it cannot be read. */
export async function readBytes(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

export { join };
