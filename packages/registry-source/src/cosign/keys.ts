import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { RegistryError, RegistryErrorCodes } from '../errors.js';

/** A trusted cosign public key: the PEM of `cosign.pub`, optionally with a name for `meta.signer`. */
export type CosignKey =
  | string
  | {
      /** Shown as `meta.signer` when this key verifies. */
      readonly name?: string | undefined;
      /** The public key, PEM. */
      readonly pem: string;
    };

/** A public key ready to verify with. */
export interface TrustedKey {
  /** What `meta.signer` says when this key verified: the name given, else `sha256:<fingerprint>`. */
  readonly id: string;
  /** The SHA-256 of the key's SubjectPublicKeyInfo (DER), hex. */
  readonly fingerprint: string;
  /** The key, for node:crypto's `verify`. */
  readonly key: KeyObject;
}

const SUPPORTED = new Set(['ec', 'rsa', 'ed25519']);

/**
 * Reads trusted keys (PEM `PUBLIC KEY`, as `cosign generate-key-pair` writes them). ECDSA (P-256,
 * cosign's default), RSA and Ed25519 keys are accepted; anything else is a `RegistryError` with code
 * `SOURCE_OCI_INVALID_KEY` naming the key's position or name. An empty list is refused too:
 * verification with no key could only fail.
 */
export function loadTrustedKeys(keys: readonly CosignKey[]): TrustedKey[] {
  if (keys.length === 0) {
    throw new RegistryError(RegistryErrorCodes.InvalidKey, 'verify is on but no public key is given');
  }
  return keys.map((entry, index) => {
    const pem = typeof entry === 'string' ? entry : entry.pem;
    const label =
      typeof entry === 'object' && entry.name ? `key ${JSON.stringify(entry.name)}` : `key #${index + 1}`;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: pem, format: 'pem' });
    } catch {
      throw new RegistryError(RegistryErrorCodes.InvalidKey, `verify: ${label} is not a PEM public key`);
    }
    if (!SUPPORTED.has(key.asymmetricKeyType ?? '')) {
      throw new RegistryError(
        RegistryErrorCodes.InvalidKey,
        `verify: ${label} is a ${key.asymmetricKeyType} key; cosign keys are ECDSA, RSA or Ed25519`,
      );
    }
    const fingerprint = createHash('sha256')
      .update(key.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    const id = typeof entry === 'object' && entry.name ? entry.name : `sha256:${fingerprint}`;
    return { id, fingerprint, key };
  });
}
