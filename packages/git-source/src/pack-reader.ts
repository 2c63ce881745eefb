/**
 * Reading objects straight out of the local repository's packfiles, for the isomorphic-git engine.
 *
 * isomorphic-git's `readBlob` / `readTree` cost, per object, a new filesystem wrapper (which probes
 * `readFile()` twice to learn whether it returns a promise), a `stat` of the repository, a failed
 * `open` of the loose object path, a `readdir` of `objects/pack`, a pure-JavaScript inflate and two
 * copies of the result. For a checkout of 5,000 files that was most of the time of a first clone.
 * Here a pack index is parsed once per pack file (binary search over its sorted ids, no map of
 * strings), each object is read with one positional read of exactly its compressed bytes, inflated
 * with node:zlib, and checked against its id with SHA-1 before it is returned. isomorphic-git still
 * does the transport and writes the packs and their indexes; objects not in a pack (loose ones)
 * are left to it (`undefined` here).
 */
import { createHash } from 'node:crypto';
import type * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { inflate, inflateSync, type ZlibOptions } from 'node:zlib';
import { PackCorruptError } from './errors.js';

/** A Git object read from a pack: its type and its bytes without the `<type> <size>\0` header. */
export interface PackedObject {
  readonly type: 'commit' | 'tree' | 'blob' | 'tag';
  readonly content: Buffer;
}

/** Object types by their number in a pack (6 and 7 are deltas). */
export const PACK_TYPES = [undefined, 'commit', 'tree', 'blob', 'tag'] as const;
const OFS_DELTA = 6;
const REF_DELTA = 7;

/** The header of an object in a pack. */
export interface PackEntryHeader {
  /** 1–4 for whole objects (see {@link PACK_TYPES}), 6 and 7 for deltas. */
  readonly kind: number;
  /** The inflated size of the data (of the delta, for a delta). */
  readonly size: number;
  /** For an offset delta: how far before this object its base starts. */
  readonly baseDistance?: number;
  /** For a reference delta: its base's id. */
  readonly baseOid?: string;
  /** Where the compressed data starts in `bytes`. */
  readonly dataStart: number;
}

/** Parses the header of the pack object at `at` in `bytes` (`offset` is its place in the pack, for messages). */
export function readEntryHeader(bytes: Buffer, at: number, pack: string, offset: number): PackEntryHeader {
  let byte = bytes[at++] as number;
  const kind = (byte >> 4) & 7;
  let size = byte & 15;
  for (let shift = 4; byte & 0x80; shift += 7) {
    byte = bytes[at++] as number;
    size += (byte & 0x7f) * 2 ** shift;
  }
  if (kind === OFS_DELTA) {
    byte = bytes[at++] as number;
    let distance = byte & 0x7f;
    while (byte & 0x80) {
      byte = bytes[at++] as number;
      distance = (distance + 1) * 128 + (byte & 0x7f);
    }
    return { kind, size, baseDistance: distance, dataStart: at };
  }
  if (kind === REF_DELTA)
    return { kind, size, baseOid: bytes.toString('hex', at, at + 20), dataStart: at + 20 };
  if (!PACK_TYPES[kind]) throw new PackCorruptError(pack, `unknown object type ${kind} at offset ${offset}`);
  return { kind, size, dataStart: at };
}
/** Bytes of resolved delta bases kept for the deltas that follow them. */
const BASE_CACHE_BYTES = 32 * 1024 * 1024;
/** Objects whose compressed size exceeds this are inflated off the main thread. */
const ASYNC_INFLATE_BYTES = 1024 * 1024;

/** A parsed `.idx` (version 2) and the facts about its pack needed to read an object. */
interface PackIndex {
  readonly name: string;
  readonly packPath: string;
  readonly fanout: Uint32Array;
  /** n × 20 bytes of sorted object ids. */
  readonly ids: Buffer;
  /** Offset in the pack of the object at each index position. */
  readonly offsets: Float64Array;
  /** Where the object at each position ends in the pack (the next object's offset, or the trailer). */
  readonly ends: Float64Array;
  /** Index positions in pack order, to find an object by its offset (delta bases). */
  readonly byOffset: Uint32Array;
}

function inflateAsync(data: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    inflate(data, options, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/** Parses a version 2 pack index; `packSize` gives where the last object ends. */
export function parsePackIndex(name: string, packPath: string, idx: Buffer, packSize: number): PackIndex {
  if (idx.length < 8 + 1024 + 40 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) {
    throw new PackCorruptError(name, 'not a version 2 pack index');
  }
  const fanout = new Uint32Array(256);
  for (let i = 0; i < 256; i++) fanout[i] = idx.readUInt32BE(8 + i * 4);
  const n = fanout[255] as number;
  const idsAt = 8 + 1024;
  const offsetsAt = idsAt + n * 20 + n * 4;
  const largeAt = offsetsAt + n * 4;
  if (idx.length < largeAt + 40) throw new PackCorruptError(name, 'truncated pack index');
  const offsets = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const small = idx.readUInt32BE(offsetsAt + i * 4);
    if (small & 0x80000000) {
      const at = largeAt + (small & 0x7fffffff) * 8;
      offsets[i] = Number(idx.readBigUInt64BE(at));
    } else offsets[i] = small;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (offsets[a] as number) - (offsets[b] as number),
  );
  const ends = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const next = order[k + 1];
    ends[order[k] as number] = next === undefined ? packSize - 20 : (offsets[next] as number);
  }
  const byOffset = Uint32Array.from(order);
  return {
    name,
    packPath,
    fanout,
    ids: Buffer.from(idx.subarray(idsAt, idsAt + n * 20)),
    offsets,
    ends,
    byOffset,
  };
}

/** The index position of `id` (20 bytes) in a pack index, or -1. */
function positionOf(index: PackIndex, id: Buffer): number {
  const first = id[0] as number;
  let lo = first === 0 ? 0 : (index.fanout[first - 1] as number);
  let hi = (index.fanout[first] as number) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = index.ids.compare(id, 0, 20, mid * 20, mid * 20 + 20);
    if (c === 0) return mid;
    if (c > 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return -1;
}

/** Applies a Git delta to its base. */
export function applyDelta(delta: Buffer, base: Buffer): Buffer {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80 && at < delta.length);
    return value;
  };
  const baseSize = varint();
  if (baseSize !== base.length)
    throw new Error(`delta base is ${base.length} bytes, the delta expects ${baseSize}`);
  const out = Buffer.allocUnsafe(varint());
  let written = 0;
  while (at < delta.length) {
    const op = delta[at++] as number;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let bit = 0; bit < 4; bit++)
        if (op & (1 << bit)) offset += (delta[at++] as number) * 2 ** (8 * bit);
      for (let bit = 0; bit < 3; bit++) if (op & (16 << bit)) size += (delta[at++] as number) << (8 * bit);
      if (size === 0) size = 0x10000;
      if (offset + size > base.length || written + size > out.length)
        throw new Error('delta copies out of bounds');
      base.copy(out, written, offset, offset + size);
      written += size;
    } else if (op) {
      if (at + op > delta.length || written + op > out.length) throw new Error('delta inserts out of bounds');
      delta.copy(out, written, at, at + op);
      at += op;
      written += op;
    } else throw new Error('delta holds a reserved opcode');
  }
  if (written !== out.length) throw new Error(`delta produced ${written} of ${out.length} bytes`);
  return out;
}

/** The SHA-1 Git names an object by. */
export function objectId(type: string, content: Buffer): string {
  return createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/** A small least-recently-used cache of resolved delta bases, bounded by bytes. */
class BaseCache {
  readonly #map = new Map<string, PackedObject>();
  #bytes = 0;

  get(key: string): PackedObject | undefined {
    const value = this.#map.get(key);
    if (value) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: PackedObject): void {
    if (value.content.length > BASE_CACHE_BYTES / 4 || this.#map.has(key)) return;
    this.#map.set(key, value);
    this.#bytes += value.content.length;
    for (const [old, entry] of this.#map) {
      if (this.#bytes <= BASE_CACHE_BYTES) break;
      this.#map.delete(old);
      this.#bytes -= entry.content.length;
    }
  }
}

/**
 * The packs of one repository. Indexes are parsed once and kept (packs are named by their
 * checksum and never change); file handles live only for one {@link PackObjects.session}.
 */
export class PackObjects {
  readonly #fs: typeof nodeFs;
  readonly #packDir: string;
  readonly #indexes = new Map<string, PackIndex>();

  /** @param gitdir the bare repository, @param fs `node:fs` (injected for tests) */
  constructor(gitdir: string, fs: typeof nodeFs) {
    this.#fs = fs;
    this.#packDir = join(gitdir, 'objects', 'pack');
  }

  /**
   * Runs `work` with a reader over the packs present now; their files are opened on demand and
   * closed when `work` settles.
   */
  async session<T>(work: (reader: PackSession) => Promise<T>): Promise<T> {
    const reader = new PackSession(this.#fs, await this.#current());
    try {
      return await work(reader);
    } finally {
      await reader.close();
    }
  }

  /** The indexes of the packs in the folder now, parsing new ones and forgetting removed ones. */
  async #current(): Promise<PackIndex[]> {
    let names: string[];
    try {
      names = (await this.#fs.promises.readdir(this.#packDir)).filter((n) => n.endsWith('.idx'));
    } catch {
      return [];
    }
    for (const name of this.#indexes.keys()) if (!names.includes(name)) this.#indexes.delete(name);
    for (const name of names) {
      if (this.#indexes.has(name)) continue;
      const packPath = join(this.#packDir, name.replace(/\.idx$/, '.pack'));
      let packSize: number;
      try {
        packSize = (await this.#fs.promises.stat(packPath)).size;
      } catch {
        continue; // An index whose pack is still being written.
      }
      const idx = await this.#fs.promises.readFile(join(this.#packDir, name));
      this.#indexes.set(name, parsePackIndex(name, packPath, idx, packSize));
    }
    return [...this.#indexes.values()];
  }
}

/** Reads objects from a fixed set of packs; see {@link PackObjects.session}. */
export class PackSession {
  readonly #fs: typeof nodeFs;
  readonly #indexes: readonly PackIndex[];
  readonly #handles = new Map<string, Promise<nodeFs.promises.FileHandle>>();
  readonly #bases = new BaseCache();

  constructor(fs: typeof nodeFs, indexes: readonly PackIndex[]) {
    this.#fs = fs;
    this.#indexes = indexes;
  }

  /** Where an object is: its pack and index position, or undefined when it is in no pack. */
  locate(oid: string): { readonly index: PackIndex; readonly position: number } | undefined {
    const id = Buffer.from(oid, 'hex');
    if (id.length !== 20) return undefined;
    for (const index of this.#indexes) {
      const position = positionOf(index, id);
      if (position >= 0) return { index, position };
    }
    return undefined;
  }

  /** The pack offset of an object, for reading many in pack order; undefined when not packed. */
  offsetOf(oid: string): number | undefined {
    const found = this.locate(oid);
    return found ? (found.index.offsets[found.position] as number) : undefined;
  }

  /** Reads an object and checks it against its id; undefined when it is in no pack. */
  async read(oid: string): Promise<PackedObject | undefined> {
    const found = this.locate(oid);
    if (!found) return undefined;
    const object = await this.#readAt(found.index, found.position, 0);
    if (objectId(object.type, object.content) !== oid) {
      throw new PackCorruptError(found.index.name, `object ${oid} does not hash to its id`);
    }
    return object;
  }

  async #readAt(index: PackIndex, position: number, depth: number): Promise<PackedObject> {
    const start = index.offsets[position] as number;
    const cached = this.#bases.get(`${index.name}:${start}`);
    if (cached) return cached;
    if (depth > 10_000) throw new PackCorruptError(index.name, `delta chain too long at offset ${start}`);
    const length = (index.ends[position] as number) - start;
    const raw = Buffer.allocUnsafe(length);
    const handle = await this.#handle(index);
    const { bytesRead } = await handle.read(raw, 0, length, start);
    if (bytesRead !== length) throw new PackCorruptError(index.name, `short read at offset ${start}`);

    const header = readEntryHeader(raw, 0, index.name, start);
    const { kind, size } = header;
    let base: PackedObject | undefined;
    if (header.baseDistance !== undefined) {
      base = await this.#readOffset(index, start - header.baseDistance, depth);
    } else if (header.baseOid !== undefined) {
      const found = this.locate(header.baseOid);
      if (!found) throw new PackCorruptError(index.name, `delta base ${header.baseOid} is in no pack`);
      base = await this.#readAt(found.index, found.position, depth + 1);
      // A base is often the base of the next deltas too.
      this.#bases.set(`${found.index.name}:${found.index.offsets[found.position]}`, base);
    }
    const compressed = raw.subarray(header.dataStart);
    let data: Buffer;
    try {
      // One output buffer of the announced size (zlib's default is 16 KiB chunks, concatenated).
      const options = { chunkSize: Math.max(64, size + 1) };
      data =
        compressed.length > ASYNC_INFLATE_BYTES
          ? await inflateAsync(compressed, options)
          : inflateSync(compressed, options);
    } catch (error) {
      throw new PackCorruptError(
        index.name,
        `cannot inflate the object at offset ${start}: ${String(error)}`,
      );
    }
    if (data.length !== size) {
      throw new PackCorruptError(
        index.name,
        `object at offset ${start} is ${data.length} bytes, not ${size}`,
      );
    }
    if (!base) return { type: PACK_TYPES[kind] as PackedObject['type'], content: data };
    let content: Buffer;
    try {
      content = applyDelta(data, base.content);
    } catch (error) {
      throw new PackCorruptError(index.name, `bad delta at offset ${start}: ${(error as Error).message}`);
    }
    return { type: base.type, content };
  }

  async #readOffset(index: PackIndex, offset: number, depth: number): Promise<PackedObject> {
    const key = `${index.name}:${offset}`;
    const cached = this.#bases.get(key);
    if (cached) return cached;
    let position = -1;
    for (let lo = 0, hi = index.byOffset.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >>> 1;
      const candidate = index.byOffset[mid] as number;
      const at = index.offsets[candidate] as number;
      if (at === offset) {
        position = candidate;
        break;
      }
      if (at < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    if (position < 0) throw new PackCorruptError(index.name, `no object at delta base offset ${offset}`);
    const base = await this.#readAt(index, position, depth + 1);
    this.#bases.set(key, base);
    return base;
  }

  #handle(index: PackIndex): Promise<nodeFs.promises.FileHandle> {
    let handle = this.#handles.get(index.name);
    if (!handle) {
      handle = this.#fs.promises.open(index.packPath, 'r');
      this.#handles.set(index.name, handle);
    }
    return handle;
  }

  /** Closes the pack files this session opened. */
  async close(): Promise<void> {
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.all(handles.map((h) => h.then((fh) => fh.close()).catch(() => undefined)));
  }
}
