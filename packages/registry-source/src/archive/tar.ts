import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ResolvedArtifactLimits } from '@gitops-kit/core';
import { RegistryError, RegistryErrorCodes } from '../errors.js';

/** One regular file of an archive. */
export interface ArchiveFile {
  /** Relative `/` path, normalised (no leading `./`). */
  readonly path: string;
  /** The file's bytes. */
  readonly content: Buffer;
  /** Whether any execute bit is set in its mode. */
  readonly executable: boolean;
}

/** What {@link readTarGz} read, besides the files. */
export interface ArchiveContents {
  /** Regular files, in archive order; a path given twice keeps its last entry (as `tar -x` does). */
  readonly files: readonly ArchiveFile[];
  /** Entries skipped: links, devices, FIFOs (never extracted, as Flux's untar does not follow them). */
  readonly skipped: readonly string[];
}

const BLOCK = 512;
/**
 * Bytes allowed after the end-of-archive block: tar pads to its record size (10 KiB by default), so
 * 1 MiB is far more than any writer adds, and a gzip bomb appended there stops early instead of
 * being decompressed to the end.
 */
const MAX_TRAILING_BYTES = 1024 * 1024;

function problem(what: string, why: string): RegistryError {
  return new RegistryError(RegistryErrorCodes.BadArchive, `${what}: ${why}`);
}

function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function octal(block: Buffer, start: number, length: number, what: string): number {
  const field = block.subarray(start, start + length);
  // GNU base-256 for sizes above 8 GiB: far above every limit, so refused as such.
  if ((field[0] ?? 0) & 0x80) throw problem(what, 'an entry uses a base-256 size (larger than any limit)');
  const text = cString(block, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw problem(what, `an entry header has a bad number ${JSON.stringify(text)}`);
  return Number.parseInt(text, 8);
}

/** Pax extended header records (`<len> key=value\n`). */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number.parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (!Number.isSafeInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** A safe relative path, or undefined for the archive root; throws for paths that would escape. */
export function safeArchivePath(raw: string, what: string): string | undefined {
  const path = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (path === '' || path === '.') return undefined;
  const parts = path.split('/');
  if (
    raw.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    parts.some((p) => p === '..' || p === '' || p === '.')
  ) {
    throw new RegistryError(
      RegistryErrorCodes.BadArchive,
      `${what}: entry ${JSON.stringify(raw)} would leave the artifact folder`,
    );
  }
  return path;
}

/**
 * Reads a tar+gzip stream into memory, file by file, checking the limits on the uncompressed
 * bytes as they come (a gzip bomb stops at the limit). Accepts ustar, pax (`path`, `size`) and GNU
 * long names; refuses absolute paths and `..`; skips links and special files. `what` names the
 * layer in messages.
 */
export async function readTarGz(
  source: AsyncIterable<Uint8Array>,
  limits: ResolvedArtifactLimits,
  what: string,
): Promise<ArchiveContents> {
  const files = new Map<string, ArchiveFile>();
  const skipped: string[] = [];
  let total = 0;
  let pending: Buffer = Buffer.alloc(0);
  let pax = new Map<string, string>();
  let longName: string | undefined;
  // The entry being read: its header facts and the bytes still to come.
  let entry:
    | { type: string; name: string; size: number; mode: number; chunks: Buffer[]; left: number }
    | undefined;
  let padding = 0;
  let ended = false;
  // Bytes read after the end-of-archive block: counted and dropped, never buffered.
  let trailing = 0;
  const afterEnd = (bytes: number): void => {
    trailing += bytes;
    if (trailing > MAX_TRAILING_BYTES)
      throw problem(what, `more than ${MAX_TRAILING_BYTES} bytes follow the end of the archive`);
  };

  const finish = (current: NonNullable<typeof entry>): void => {
    const data = Buffer.concat(current.chunks);
    if (current.type === 'x') {
      pax = paxRecords(data);
      return;
    }
    if (current.type === 'g') return;
    if (current.type === 'L') {
      longName = cString(data, 0, data.length);
      return;
    }
    const name = pax.get('path') ?? longName ?? current.name;
    pax = new Map();
    longName = undefined;
    if (current.type === '5') {
      safeArchivePath(name, what);
      return;
    }
    if (current.type !== '0' && current.type !== '\0' && current.type !== '7') {
      safeArchivePath(name, what);
      skipped.push(name);
      return;
    }
    const path = safeArchivePath(name, what);
    if (path === undefined) return;
    if (!files.has(path) && files.size >= limits.maxFiles) {
      throw new RegistryError(
        RegistryErrorCodes.TooLarge,
        `${what}: the archive holds more than ${limits.maxFiles} files (limits.maxFiles)`,
      );
    }
    files.set(path, { path, content: data, executable: (current.mode & 0o111) !== 0 });
  };

  const gunzip = createGunzip();
  const input = Readable.from(source);
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (ended) {
        afterEnd(chunk.length);
        continue;
      }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (!ended) {
        if (padding > 0) {
          const skip = Math.min(padding, pending.length);
          pending = pending.subarray(skip);
          padding -= skip;
          if (padding > 0) break;
        }
        if (entry) {
          const take = Math.min(entry.left, pending.length);
          if (take > 0) {
            entry.chunks.push(Buffer.from(pending.subarray(0, take)));
            pending = pending.subarray(take);
            entry.left -= take;
          }
          if (entry.left > 0) break;
          const done = entry;
          entry = undefined;
          padding = (BLOCK - (done.size % BLOCK)) % BLOCK;
          finish(done);
          continue;
        }
        if (pending.length < BLOCK) break;
        const header = pending.subarray(0, BLOCK);
        pending = pending.subarray(BLOCK);
        if (header.every((b) => b === 0)) {
          ended = true;
          afterEnd(pending.length);
          pending = Buffer.alloc(0);
          break;
        }
        let sum = 0;
        for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
        if (sum !== octal(header, 148, 8, what)) throw problem(what, 'an entry header has a bad checksum');
        const type = String.fromCharCode(header[156] ?? 0);
        const magic = cString(header, 257, 6);
        const prefix = magic.startsWith('ustar') ? cString(header, 345, 155) : '';
        const base = cString(header, 0, 100);
        const name = prefix ? `${prefix}/${base}` : base;
        const paxSize = pax.get('size');
        const size = paxSize !== undefined && type !== 'x' ? Number(paxSize) : octal(header, 124, 12, what);
        if (!Number.isSafeInteger(size) || size < 0) throw problem(what, 'an entry has a bad size');
        const regular = type === '0' || type === '\0' || type === '7';
        if (regular && size > limits.maxFileBytes) {
          throw new RegistryError(
            RegistryErrorCodes.TooLarge,
            `${what}: ${JSON.stringify(name)} is ${size} bytes, more than limits.maxFileBytes (${limits.maxFileBytes})`,
          );
        }
        if (!regular && size > 1024 * 1024)
          throw problem(what, `header entry ${JSON.stringify(name)} is too large`);
        total += size;
        if (total > limits.maxTotalBytes) {
          throw new RegistryError(
            RegistryErrorCodes.TooLarge,
            `${what}: the archive holds more than limits.maxTotalBytes (${limits.maxTotalBytes}) bytes`,
          );
        }
        entry = { type, name, size, mode: octal(header, 100, 8, what), chunks: [], left: size };
      }
      // After the end-of-archive block the rest is read (up to MAX_TRAILING_BYTES) and dropped, so
      // the source ends normally.
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    // Errors of the source (a digest mismatch of the blob stream) pass through as they are.
    if (
      error &&
      typeof error === 'object' &&
      'code' in error &&
      typeof error.code === 'string' &&
      error.code.startsWith('SOURCE_')
    )
      throw error;
    throw problem(what, `not a valid tar+gzip archive (${message})`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  if (entry) throw problem(what, 'the archive ends inside an entry');
  return { files: [...files.values()], skipped };
}
