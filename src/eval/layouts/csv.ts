/** Line-by-line reading of the datasets' CSV files (quoted fields allowed, no embedded newlines). */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** The fields of one CSV line; `"…"` fields may hold commas and `""` for a quote. */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields.map((value) => value.trim());
}

/** Non-empty lines of a CSV file or text, parsed, in order. */
export async function* csvRows(source: string | { text: string }): AsyncGenerator<string[]> {
  const lines =
    typeof source === 'string'
      ? createInterface({ input: createReadStream(source), crlfDelay: Infinity })
      : source.text.split(/\r?\n/);
  for await (const line of lines) {
    if (line.trim()) yield parseCsvLine(line);
  }
}

/** Rows of a CSV with a header line, as objects keyed by the header's names. */
export async function* csvRecords(path: string): AsyncGenerator<Record<string, string>> {
  let header: string[] | null = null;
  for await (const row of csvRows(path)) {
    if (!header) {
      header = row.map((name) => name.replace(/^\uFEFF/, ''));
      continue;
    }
    yield Object.fromEntries(header.map((name, i) => [name, row[i] ?? '']));
  }
}
