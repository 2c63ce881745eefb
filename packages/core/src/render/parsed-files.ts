import { createHash } from 'node:crypto';
import type { Manifest } from '../types.js';

/**
 * The manifests parsed from recent files, by relative path and content digest, so a render after a
 * one-file change parses that file only (parsing is most of a raw render: some 3–8 s and 150 MiB of
 * transient heap for 10,000 objects on a busy 2-core machine). The same file in another artifact
 * (another revision, or another reconciler's copy of the same source) reuses the same manifests:
 * the path and the bytes decide what a file parses to, origins included. Manifests are never
 * mutated once rendered (the reconciler already reuses a render while the revision stays), so
 * sharing them is safe. Bounded by the bytes of the files remembered, least recently used first out.
 */
export class ParsedFiles {
  readonly #entries = new Map<string, { readonly manifests: readonly Manifest[]; readonly bytes: number }>();
  readonly #maxBytes: number;
  #bytes = 0;

  /** @param maxBytes the most file bytes whose parse is remembered (default 32 MiB). */
  constructor(maxBytes = 32 * 1024 * 1024) {
    this.#maxBytes = maxBytes;
  }

  /** The key of a file's content: its relative path and the digest of its bytes. */
  keyOf(file: string, bytes: Uint8Array): string {
    return `${file}\0${createHash('sha256').update(bytes).digest('base64')}`;
  }

  /** A copy of the list parsed from the same path and bytes, or undefined. */
  get(key: string): Manifest[] | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return [...entry.manifests];
  }

  /** Remembers what a file parsed to, dropping the least recently used files over the bound. */
  set(key: string, manifests: readonly Manifest[], bytes: number): void {
    if (bytes > this.#maxBytes) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= old.bytes;
      this.#entries.delete(key);
    }
    this.#entries.set(key, { manifests: [...manifests], bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }
}
