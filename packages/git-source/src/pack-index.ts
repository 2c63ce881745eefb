/**
 * Indexing a received packfile: the object ids, CRCs and offsets of a version 2 `.idx`, what
 * `git index-pack` computes. isomorphic-git's `GitPackIndex.fromPack` does the same job in
 * JavaScript (pako's streaming inflate per object, a JavaScript CRC-32, an O(256·n) fanout loop in
 * `toBuffer`); here each object is inflated once with node:zlib, which also tells where its
 * compressed bytes end, and hashed with node:crypto.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { PackCorruptError } from './errors.js';
import { applyDelta, objectId, PACK_TYPES, type PackedObject, readEntryHeader } from './pack-reader.js';

/** Bytes of resolved objects kept as bases for the deltas that follow. */
const BASE_CACHE_BYTES = 64 * 1024 * 1024;

/** Reads an object that is not in this pack (the base of a thin pack's delta). */
export type ExternalObjects = (oid: string) => Promise<PackedObject | undefined>;

/** What {@link indexPack} found. */
export interface IndexedPack {
  /** The pack's checksum (its last 20 bytes), hex: the file is `pack-<checksum>.pack`. */
  readonly checksum: string;
  /** The objects in the pack. */
  readonly count: number;
  /** The `.idx` file (version 2). */
  readonly idx: Buffer;
}

interface Entry {
  readonly offset: number;
  /** Where the compressed data starts and ends. */
  readonly dataStart: number;
  readonly end: number;
  readonly kind: number;
  /** The inflated size the pack announced. */
  readonly size: number;
  readonly baseOffset?: number;
  readonly baseOid?: string;
  oid?: string;
  type?: PackedObject['type'];
}

type Crc32 = (data: Uint8Array, value?: number) => number;

let crcTable: Int32Array | undefined;
/** CRC-32 (zlib's), for Node versions without `zlib.crc32`. */
function crc32Fallback(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let crc = -1;
  for (let i = 0; i < data.length; i++)
    crc = (crcTable[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
const crc32: Crc32 = (zlib as { crc32?: Crc32 }).crc32 ?? crc32Fallback;

/** Inflates the zlib stream at `start`; returns the data and where the stream ended. */
function inflateAt(pack: Buffer, start: number, end: number, size: number, name: string): [Buffer, number] {
  try {
    // One output buffer of the size the pack announced (zlib's default is 16 KiB chunks, concatenated).
    const options = { info: true, chunkSize: Math.max(64, size + 1) };
    const { buffer, engine } = zlib.inflateSync(pack.subarray(start, end), options) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return [buffer, start + engine.bytesWritten];
  } catch (error) {
    throw new PackCorruptError(name, `cannot inflate the object at offset ${start}: ${String(error)}`);
  }
}

/**
 * Indexes a whole packfile held in memory. Deltas are resolved against objects of the pack and,
 * for a thin pack, through `external`. Throws `PackCorruptError` when the pack is damaged (bad
 * header or checksum, sizes that do not match, a delta whose base is nowhere).
 */
export async function indexPack(pack: Buffer, external: ExternalObjects): Promise<IndexedPack> {
  const name = 'received pack';
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') {
    throw new PackCorruptError(name, 'not a packfile');
  }
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new PackCorruptError(name, `unsupported pack version ${version}`);
  const count = pack.readUInt32BE(8);
  const trailer = pack.length - 20;
  const checksum = pack.toString('hex', trailer);
  if (createHash('sha1').update(pack.subarray(0, trailer)).digest('hex') !== checksum) {
    throw new PackCorruptError(name, 'the pack checksum does not match its content');
  }

  const entries: Entry[] = [];
  const byOffset = new Map<number, Entry>();
  const byOid = new Map<string, Entry>();
  let at = 12;
  for (let i = 0; i < count; i++) {
    const offset = at;
    if (at >= trailer) throw new PackCorruptError(name, `the pack ends after ${i} of ${count} objects`);
    const header = readEntryHeader(pack, at, name, offset);
    const { kind, size, dataStart } = header;
    const baseOffset = header.baseDistance === undefined ? undefined : offset - header.baseDistance;
    const baseOid = header.baseOid;
    const [data, end] = inflateAt(pack, dataStart, trailer, size, name);
    if (data.length !== size) {
      throw new PackCorruptError(name, `object at offset ${offset} is ${data.length} bytes, not ${size}`);
    }
    const entry: Entry = {
      offset,
      dataStart,
      end,
      kind,
      size,
      ...(baseOffset === undefined ? {} : { baseOffset }),
      ...(baseOid === undefined ? {} : { baseOid }),
    };
    if (baseOffset === undefined && baseOid === undefined) {
      entry.type = PACK_TYPES[kind] as PackedObject['type'];
      entry.oid = objectId(entry.type, data);
      byOid.set(entry.oid, entry);
    }
    entries.push(entry);
    byOffset.set(offset, entry);
    at = end;
  }
  if (at !== trailer) throw new PackCorruptError(name, `${trailer - at} bytes after the last object`);

  // Deltas: resolved with a cache of bases (a base is usually shared by the deltas after it).
  const cache = new Map<number, PackedObject>();
  let cached = 0;
  const remember = (offset: number, object: PackedObject): void => {
    if (object.content.length > BASE_CACHE_BYTES / 4 || cache.has(offset)) return;
    cache.set(offset, object);
    cached += object.content.length;
    for (const [key, old] of cache) {
      if (cached <= BASE_CACHE_BYTES) break;
      cache.delete(key);
      cached -= old.content.length;
    }
  };
  /** The object of an entry; undefined while a ref-delta's base is not known yet. */
  const resolve = async (entry: Entry, depth: number): Promise<PackedObject | undefined> => {
    const hit = cache.get(entry.offset);
    if (hit) return hit;
    if (depth > 10_000) throw new PackCorruptError(name, `delta chain too long at offset ${entry.offset}`);
    let base: PackedObject | undefined;
    if (entry.baseOffset !== undefined) {
      const baseEntry = byOffset.get(entry.baseOffset);
      if (!baseEntry) throw new PackCorruptError(name, `no object at delta base offset ${entry.baseOffset}`);
      base = await resolve(baseEntry, depth + 1);
      if (base) remember(baseEntry.offset, base);
    } else if (entry.baseOid !== undefined) {
      const inPack = byOid.get(entry.baseOid);
      base = inPack ? await resolve(inPack, depth + 1) : await external(entry.baseOid);
      if (base && inPack) remember(inPack.offset, base);
    }
    const [data] = inflateAt(pack, entry.dataStart, entry.end, entry.size, name);
    if (entry.baseOffset === undefined && entry.baseOid === undefined) {
      return { type: entry.type as PackedObject['type'], content: data };
    }
    if (!base) return undefined;
    let content: Buffer;
    try {
      content = applyDelta(data, base.content);
    } catch (error) {
      throw new PackCorruptError(name, `bad delta at offset ${entry.offset}: ${(error as Error).message}`);
    }
    return { type: base.type, content };
  };
  // A ref-delta may name a base that is itself a delta later in the pack: repeat until none is left.
  for (let pending = entries.filter((e) => !e.oid); pending.length > 0; ) {
    const left: Entry[] = [];
    for (const entry of pending) {
      const object = await resolve(entry, 0);
      if (!object) {
        left.push(entry);
        continue;
      }
      entry.type = object.type;
      entry.oid = objectId(object.type, object.content);
      byOid.set(entry.oid, entry);
    }
    if (left.length === pending.length) {
      throw new PackCorruptError(name, `delta base ${left[0]?.baseOid} is not in the repository`);
    }
    pending = left;
  }
  return { checksum, count, idx: buildIndex(entries, pack, checksum) };
}

/** Writes the version 2 `.idx` of indexed entries. */
function buildIndex(entries: readonly Entry[], pack: Buffer, checksum: string): Buffer {
  const sorted = [...entries].sort((a, b) => ((a.oid as string) < (b.oid as string) ? -1 : 1));
  const n = sorted.length;
  const large = sorted.filter((e) => e.offset >= 0x80000000);
  const out = Buffer.alloc(8 + 1024 + n * 28 + large.length * 8 + 40);
  out.writeUInt32BE(0xff744f63, 0);
  out.writeUInt32BE(2, 4);
  const fanout = new Uint32Array(256);
  for (const entry of sorted) (fanout[Number.parseInt((entry.oid as string).slice(0, 2), 16)] as number)++;
  for (let i = 0, total = 0; i < 256; i++) {
    total += fanout[i] as number;
    out.writeUInt32BE(total, 8 + i * 4);
  }
  const idsAt = 8 + 1024;
  const crcAt = idsAt + n * 20;
  const offsetsAt = crcAt + n * 4;
  let largeAt = offsetsAt + n * 4;
  let largeIndex = 0;
  sorted.forEach((entry, i) => {
    out.write(entry.oid as string, idsAt + i * 20, 'hex');
    out.writeUInt32BE(crc32(pack.subarray(entry.offset, entry.end)) >>> 0, crcAt + i * 4);
    if (entry.offset < 0x80000000) out.writeUInt32BE(entry.offset, offsetsAt + i * 4);
    else {
      out.writeUInt32BE((0x80000000 | largeIndex++) >>> 0, offsetsAt + i * 4);
      out.writeBigUInt64BE(BigInt(entry.offset), largeAt);
      largeAt += 8;
    }
  });
  out.write(checksum, largeAt, 'hex');
  createHash('sha1')
    .update(out.subarray(0, largeAt + 20))
    .digest()
    .copy(out, largeAt + 20);
  return out;
}
