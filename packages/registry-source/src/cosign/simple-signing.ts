import { verify } from 'node:crypto';
import type { TrustedKey } from './keys.js';

/** The payload type cosign writes into a simple-signing document. */
export const COSIGN_PAYLOAD_TYPE = 'cosign container image signature';

/** The annotation of a signature layer that holds the base64 signature over the payload. */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** What a signature layer's check found. */
export type SignatureCheck =
  | {
      /** A trusted key signed this payload, and it names the artifact's digest. */
      readonly outcome: 'verified';
      /** The key that verified. */
      readonly key: TrustedKey;
    }
  | {
      /** A trusted key signed this payload, but it names another digest (or none). */
      readonly outcome: 'other-digest';
      /** The key that verified. */
      readonly key: TrustedKey;
      /** The digest the payload names. */
      readonly digest: string | undefined;
    }
  | {
      /** No trusted key verifies the signature. */
      readonly outcome: 'no-key';
    };

/** Whether `signature` over `payload` verifies with `key` (SHA-256; DER ECDSA as cosign writes it). */
function verifiesWith(key: TrustedKey, payload: Uint8Array, signature: Buffer): boolean {
  try {
    const algorithm = key.key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    return verify(algorithm, payload, key.key, signature);
  } catch {
    return false;
  }
}

/** The manifest digest a simple-signing payload names, or undefined when it is not one of cosign's. */
export function payloadDigest(payload: Uint8Array): string | undefined {
  try {
    const doc = JSON.parse(Buffer.from(payload).toString('utf8')) as {
      critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } };
    };
    if (doc.critical?.type !== COSIGN_PAYLOAD_TYPE) return undefined;
    const digest = doc.critical.image?.['docker-manifest-digest'];
    return typeof digest === 'string' ? digest : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks one cosign signature: the base64 `signature` must verify over the exact payload bytes
 * with one of the keys, and the payload must name `manifestDigest`. A signature made by a trusted
 * key for another artifact (a copied `.sig`) is `other-digest`, never `verified`.
 */
export function checkSignature(
  payload: Uint8Array,
  signatureBase64: string,
  keys: readonly TrustedKey[],
  manifestDigest: string,
): SignatureCheck {
  const signature = Buffer.from(signatureBase64, 'base64');
  for (const key of keys) {
    if (!verifiesWith(key, payload, signature)) continue;
    const digest = payloadDigest(payload);
    return digest === manifestDigest
      ? { outcome: 'verified', key }
      : { outcome: 'other-digest', key, digest };
  }
  return { outcome: 'no-key' };
}
