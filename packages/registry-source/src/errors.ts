import { type GitOpsErrorOptions, SourceError } from '@gitops-kit/core';

/**
 * Error codes of the registry sources beyond core's shared `SOURCE_*` codes. A code never changes
 * once released. Messages name the reference and the URL (never credentials: they go through
 * core's `Redactor`).
 */
export const RegistryErrorCodes = {
  /** The reference (`oci://host/repo:tag`) cannot be parsed. */
  InvalidReference: 'SOURCE_OCI_INVALID_REFERENCE',
  /** The registry refused the credentials, or the token service did (401/403). */
  AuthFailed: 'SOURCE_OCI_AUTH_FAILED',
  /** The registry (or its token service) could not be reached: refused, reset, DNS, TLS, timeout. */
  Unreachable: 'SOURCE_OCI_UNREACHABLE',
  /** The repository, tag, manifest or blob does not exist (404). */
  NotFound: 'SOURCE_OCI_NOT_FOUND',
  /** No tag of the repository satisfies the semver range. */
  NoMatchingTag: 'SOURCE_OCI_NO_MATCHING_TAG',
  /** Downloaded bytes do not hash to the digest they were asked for or announced with. */
  DigestMismatch: 'SOURCE_OCI_DIGEST_MISMATCH',
  /** A manifest, blob or tag list is larger than the limit set for it (or a token service's answer than 256 KiB). */
  TooLarge: 'SOURCE_OCI_TOO_LARGE',
  /** The registry answered with something the distribution spec does not allow (bad JSON, status, media type). */
  BadResponse: 'SOURCE_OCI_BAD_RESPONSE',
  /** The manifest is not an artifact this source can read (no layer of the selected media type, an index). */
  UnsupportedArtifact: 'SOURCE_OCI_UNSUPPORTED_ARTIFACT',
  /** A layer archive (tar+gzip) is damaged or holds an entry that may not be extracted. */
  BadArchive: 'SOURCE_OCI_BAD_ARCHIVE',
  /** Verification is on and the artifact has no signature (`sha256-<digest>.sig` tag). */
  Unsigned: 'SOURCE_OCI_UNSIGNED',
  /** Verification is on and no signature verifies with any of the trusted keys. */
  SignatureInvalid: 'SOURCE_OCI_SIGNATURE_INVALID',
  /** A signature verifies but its payload names another manifest digest than the artifact's. */
  SignaturePayloadMismatch: 'SOURCE_OCI_SIGNATURE_PAYLOAD_MISMATCH',
  /** A trusted key given in the options cannot be read (not a PEM public key, not ECDSA/RSA/Ed25519). */
  InvalidKey: 'SOURCE_OCI_INVALID_KEY',
  /** The fetch was aborted through its signal. */
  Aborted: 'SOURCE_OCI_ABORTED',
} as const;

/** One of {@link RegistryErrorCodes}. */
export type RegistryErrorCode = (typeof RegistryErrorCodes)[keyof typeof RegistryErrorCodes];

/** Options of a {@link RegistryError}: where it happened, besides core's location and cause. */
export interface RegistryErrorOptions extends GitOpsErrorOptions {
  /** The reference being served (`127.0.0.1:5000/team/app:v1`), without credentials. */
  readonly reference?: string | undefined;
  /** The URL of the failed request, without credentials or query secrets. */
  readonly url?: string | undefined;
  /** The HTTP status, when the registry answered. */
  readonly status?: number | undefined;
}

/**
 * An error of a registry client or source: a `SourceError` (stage `source`) with one of
 * {@link RegistryErrorCodes} (or a core code), and the reference, URL and HTTP status it concerns.
 */
export class RegistryError extends SourceError {
  /** The reference being served, without credentials. */
  readonly reference: string | undefined;
  /** The URL of the failed request, without credentials. */
  readonly url: string | undefined;
  /** The HTTP status, when the registry answered. */
  readonly status: number | undefined;

  constructor(code: string, message: string, options: RegistryErrorOptions = {}) {
    super(code, message, options);
    this.reference = options.reference;
    this.url = options.url;
    this.status = options.status;
  }
}

/**
 * Signature verification refused the artifact (unsigned, no trusted key verifies, payload for
 * another digest). Nothing is produced when it is thrown: verification fails closed.
 */
export class SignatureVerificationError extends RegistryError {}
