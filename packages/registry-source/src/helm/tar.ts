import { gunzipSync } from 'node:zlib';

/** One regular file of a tar archive. Internal. */
export interface TarFile {
  /** The path inside the archive, `/`-separated, as written. */
  readonly path: string;
  readonly content: Buffer;
  /** Any execute bit set. */
  readonly executable: boolean;
}

/** Limits checked while an archive is read, so a hostile archive cannot fill memory. */
export interface TarLimits {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
}

/** Why an archive was refused; the caller adds the chart and URL. */
export class TarProblem extends Error {}

const BLOCK = 512;

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function octal(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  // Base-256 (GNU) for sizes of 8 GiB and more: far beyond any limit we accept.
  if (((field[0] ?? 0) & 0x80) !== 0) return Number.MAX_SAFE_INTEGER;
  const value = text(block, start, length).trim();
  return value === '' ? 0 : Number.parseInt(value, 8);
}

/** PAX extended header records (`<len> key=value\n`). */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number.parseInt(data.subarray(at, space).toString('utf8'), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/**
 * Reads the regular files of a gzip-compressed tar archive (ustar, PAX and GNU long names, as Go's
 * `archive/tar` and `helm package` write them). Folders are implied; links and devices are skipped,
 * never followed. Limits are checked before each file's bytes are taken.
 */
export function readTarGz(archive: Buffer, limits: TarLimits): TarFile[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: limits.maxTotalBytes + 1024 * 1024 });
  } catch (error) {
    throw new TarProblem(`not a gzip archive or larger than allowed (${(error as Error).message})`);
  }
  const files: TarFile[] = [];
  let total = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  let at = 0;
  while (at + BLOCK <= tar.length) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0x30);
    const dataStart = at + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > tar.length) throw new TarProblem('the archive is truncated');
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    const data = (): Buffer => tar.subarray(dataStart, dataEnd);
    if (type === 'L') {
      longName = text(data(), 0, size);
      continue;
    }
    if (type === 'x') {
      pax = paxRecords(data());
      continue;
    }
    if (type === 'g') continue;
    const prefix = text(header, 345, 155);
    const name = text(header, 0, 100);
    const path = pax?.get('path') ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    longName = undefined;
    pax = undefined;
    if (type !== '0' && type !== '\0' && type !== '7') continue;
    if (files.length + 1 > limits.maxFiles) throw new TarProblem(`more than ${limits.maxFiles} files`);
    if (size > limits.maxFileBytes)
      throw new TarProblem(`"${path}" is larger than ${limits.maxFileBytes} bytes`);
    total += size;
    if (total > limits.maxTotalBytes) throw new TarProblem(`more than ${limits.maxTotalBytes} bytes in all`);
    const mode = octal(header, 100, 8);
    files.push({ path, content: Buffer.from(data()), executable: (mode & 0o111) !== 0 });
  }
  return files;
}
