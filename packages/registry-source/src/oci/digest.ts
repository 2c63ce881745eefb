import { createHash, type Hash } from 'node:crypto';

/** Digest algorithms the OCI image spec registers, with their hex lengths. */
const ALGORITHMS: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

/** Whether `value` is a digest this client can verify (`sha256:<64 hex>` or `sha512:<128 hex>`). */
export function isDigest(value: string): boolean {
  const colon = value.indexOf(':');
  if (colon < 0) return false;
  const length = ALGORITHMS[value.slice(0, colon)];
  return length !== undefined && new RegExp(`^[a-f0-9]{${length}}$`).test(value.slice(colon + 1));
}

/** The digest of `bytes` with the algorithm of `like` (`sha256` when not given). */
export function digestOf(bytes: Uint8Array, like = 'sha256:'): string {
  const algorithm = like.slice(0, like.indexOf(':'));
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * Hashes a stream as it passes, for a digest known in advance: call {@link update} with each
 * chunk, then compare {@link actual} with {@link expected}. The digest must pass {@link isDigest}.
 */
export class DigestVerifier {
  /** The digest the bytes must have. */
  readonly expected: string;
  readonly #hash: Hash;
  readonly #algorithm: string;

  constructor(expected: string) {
    this.expected = expected;
    this.#algorithm = expected.slice(0, expected.indexOf(':'));
    this.#hash = createHash(this.#algorithm);
  }

  /** Adds a chunk. */
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  /** The digest of everything added (call once, at the end). */
  actual(): string {
    return `${this.#algorithm}:${this.#hash.digest('hex')}`;
  }
}
