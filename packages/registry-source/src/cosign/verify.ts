import { RegistryError, RegistryErrorCodes, SignatureVerificationError } from '../errors.js';
import type { RegistryClient, Repository } from '../oci/client.js';
import { MediaTypes } from '../oci/manifest.js';
import type { TrustedKey } from './keys.js';
import { checkSignature, SIGNATURE_ANNOTATION } from './simple-signing.js';

/** What a successful verification found. */
export interface VerifiedSignature {
  /** The id of the key that verified (its name, or `sha256:<fingerprint>`). */
  readonly signer: string;
  /** The digest of the signature manifest (`sha256-<digest>.sig`). */
  readonly signatureDigest: string;
}

/** A signature payload is small; anything larger is not cosign's. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

/** The tag cosign stores the signatures of `digest` under: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/**
 * Verifies the cosign key signatures of the manifest `digest` in `repo`: reads the
 * `sha256-<hex>.sig` manifest, and for each simple-signing layer checks the signature annotation
 * over the payload blob with the trusted keys and the payload's digest against `digest`. Fails
 * closed: no signature manifest is `SOURCE_OCI_UNSIGNED`, a signature by a trusted key for another
 * digest `SOURCE_OCI_SIGNATURE_PAYLOAD_MISMATCH`, none by a trusted key `SOURCE_OCI_SIGNATURE_INVALID`
 * (all {@link SignatureVerificationError}).
 */
export async function verifyCosignSignature(options: {
  readonly client: RegistryClient;
  readonly repo: Repository;
  readonly digest: string;
  readonly keys: readonly TrustedKey[];
  readonly reference: string;
  readonly signal?: AbortSignal | undefined;
}): Promise<VerifiedSignature> {
  const { client, repo, digest, keys, reference, signal } = options;
  const tag = signatureTag(digest);
  let fetched: Awaited<ReturnType<RegistryClient['getManifest']>>;
  try {
    fetched = await client.getManifest(repo, tag, { signal, reference });
  } catch (error) {
    if (error instanceof RegistryError && error.code === RegistryErrorCodes.NotFound) {
      throw new SignatureVerificationError(
        RegistryErrorCodes.Unsigned,
        `${reference}: verify is on and ${digest} has no cosign signature (no tag ${tag})`,
        { reference, url: error.url, status: 404 },
      );
    }
    throw error;
  }
  const manifest = fetched.manifest;
  const layers =
    manifest.kind === 'manifest'
      ? manifest.layers.filter(
          (l) => l.mediaType === MediaTypes.CosignSimpleSigning && l.annotations?.[SIGNATURE_ANNOTATION],
        )
      : [];
  if (layers.length === 0) {
    throw new SignatureVerificationError(
      RegistryErrorCodes.Unsigned,
      `${reference}: verify is on and the signature manifest ${tag} holds no cosign signature`,
      { reference },
    );
  }
  let mismatch: { key: string; digest: string | undefined } | undefined;
  for (const layer of layers) {
    const payload = await client.getBlob(repo, layer.digest, {
      signal,
      reference,
      maxBytes: MAX_PAYLOAD_BYTES,
      expectedSize: layer.size,
    });
    const check = checkSignature(payload, layer.annotations?.[SIGNATURE_ANNOTATION] ?? '', keys, digest);
    if (check.outcome === 'verified') return { signer: check.key.id, signatureDigest: fetched.digest };
    if (check.outcome === 'other-digest') mismatch ??= { key: check.key.id, digest: check.digest };
  }
  if (mismatch) {
    throw new SignatureVerificationError(
      RegistryErrorCodes.SignaturePayloadMismatch,
      `${reference}: the signature under ${tag} by ${mismatch.key} is for ${mismatch.digest ?? 'no digest'}, not ${digest}`,
      { reference },
    );
  }
  throw new SignatureVerificationError(
    RegistryErrorCodes.SignatureInvalid,
    `${reference}: none of the ${layers.length} signature${layers.length === 1 ? '' : 's'} under ${tag} verifies with the ${keys.length} trusted key${keys.length === 1 ? '' : 's'}`,
    { reference },
  );
}
