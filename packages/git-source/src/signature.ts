import type { Key } from 'openpgp';

// openpgp (some 15 MiB of RSS) is loaded by the first verification, not when the package is
// imported: most sources verify nothing.
const openpgp = (): Promise<typeof import('openpgp')> => import('openpgp');

/** Which signature a {@link GitSource} checks. */
export type VerifyMode = 'off' | 'head' | 'tag';

/** The outcome of a successful verification. */
export interface VerifiedSignature {
  /** Key id (hex) of the key that made the signature. */
  readonly keyId: string;
  /** The first user id of that key, when it has one. */
  readonly userId: string | undefined;
}

/** Reads armored public keys (each string may hold several). Throws on unreadable input. */
export async function readPublicKeys(armored: readonly string[]): Promise<Key[]> {
  const { readKeys } = await openpgp();
  const keys: Key[] = [];
  for (const text of armored) keys.push(...(await readKeys({ armoredKeys: text })));
  return keys;
}

/**
 * Verifies a detached OpenPGP signature over `payload` against `keys`. Returns the signer, or
 * undefined when no key verifies it (a wrong key, a tampered payload, a corrupt signature): the
 * caller turns that into a typed error, so verification fails closed.
 */
export async function verifyDetached(
  payload: Uint8Array,
  armoredSignature: string,
  keys: readonly Key[],
): Promise<VerifiedSignature | undefined> {
  try {
    const { createMessage, readSignature, verify } = await openpgp();
    const signature = await readSignature({ armoredSignature });
    const message = await createMessage({ binary: payload });
    const result = await verify({ message, signature, verificationKeys: [...keys], format: 'binary' });
    for (const sig of result.signatures) {
      try {
        await sig.verified;
        const keyId = sig.keyID.toHex();
        const key = keys.find((k) => k.getKeys(sig.keyID).length > 0);
        return { keyId, userId: key?.getUserIDs()[0] };
      } catch {
        // This signature packet did not verify; try the next one.
      }
    }
    return undefined;
  } catch {
    return undefined;
  }
}
