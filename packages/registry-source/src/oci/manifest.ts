import { RegistryError, RegistryErrorCodes } from '../errors.js';
import { isDigest } from './digest.js';

/** Media types of the OCI image spec and of Docker's schema 2 that the client reads. */
export const MediaTypes = {
  /** OCI image manifest. */
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  /** OCI image index (a list of manifests). */
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  /** Docker schema 2 manifest (what older tools push). */
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  /** Docker manifest list. */
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  /** The config of an artifact written by `flux push artifact`. */
  FluxConfig: 'application/vnd.cncf.flux.config.v1+json',
  /** The single tar+gzip layer of an artifact written by `flux push artifact`. */
  FluxContent: 'application/vnd.cncf.flux.content.v1.tar+gzip',
  /** A cosign simple-signing payload layer. */
  CosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  /** The OCI empty descriptor's media type. */
  OciEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The `Accept` header for manifests: the single-image kinds first, then the lists. */
export const MANIFEST_ACCEPT = [
  MediaTypes.OciManifest,
  MediaTypes.DockerManifest,
  MediaTypes.OciIndex,
  MediaTypes.DockerManifestList,
].join(', ');

/** A content descriptor: what a manifest says about a blob. */
export interface Descriptor {
  /** The blob's media type. */
  readonly mediaType: string;
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** Bytes. */
  readonly size: number;
  /** The descriptor's annotations (a cosign signature lives in one). */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** For index entries and artifacts: the artifact's type. */
  readonly artifactType?: string | undefined;
}

/** An image manifest (OCI or Docker schema 2): a config and layers. */
export interface ImageManifest {
  /** Tells it from an {@link ImageIndex}. */
  readonly kind: 'manifest';
  /** The manifest's media type (from the document, else the `Content-Type`). */
  readonly mediaType: string;
  /** The artifact type of an OCI 1.1 artifact manifest, when set. */
  readonly artifactType?: string | undefined;
  /** The config blob. */
  readonly config: Descriptor;
  /** The layers, in order. */
  readonly layers: readonly Descriptor[];
  /** The manifest's annotations (`org.opencontainers.image.*`). */
  readonly annotations: Readonly<Record<string, string>>;
}

/** An image index (OCI) or manifest list (Docker): manifests by platform or kind. */
export interface ImageIndex {
  /** Tells it from an {@link ImageManifest}. */
  readonly kind: 'index';
  /** The index's media type. */
  readonly mediaType: string;
  /** The manifests it lists. */
  readonly manifests: readonly Descriptor[];
  /** The index's annotations. */
  readonly annotations: Readonly<Record<string, string>>;
}

function bad(reference: string, why: string): RegistryError {
  return new RegistryError(RegistryErrorCodes.BadResponse, `${reference}: the manifest ${why}`, {
    reference,
  });
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function descriptor(value: unknown, reference: string, where: string): Descriptor {
  const d = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !isDigest(d.digest)) {
    throw bad(reference, `has a ${where} without a media type or a valid digest`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw bad(reference, `has a ${where} without a valid size`);
  }
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.annotations ? { annotations: stringRecord(d.annotations) } : {}),
    ...(typeof d.artifactType === 'string' ? { artifactType: d.artifactType } : {}),
  };
}

/**
 * Parses manifest bytes into an {@link ImageManifest} or {@link ImageIndex}. The media type comes
 * from the document, else from the `Content-Type` the registry sent. Throws a `RegistryError`
 * (`SOURCE_OCI_BAD_RESPONSE`) for anything else.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  reference: string,
): ImageManifest | ImageIndex {
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    doc = parsed as Record<string, unknown>;
  } catch {
    throw bad(reference, 'is not a JSON object');
  }
  if (doc.schemaVersion !== 2) throw bad(reference, `has schemaVersion ${String(doc.schemaVersion)}, not 2`);
  const mediaType =
    typeof doc.mediaType === 'string' ? doc.mediaType : (contentType?.split(';')[0]?.trim() ?? '');
  const annotations = stringRecord(doc.annotations);
  if (Array.isArray(doc.manifests)) {
    return {
      kind: 'index',
      mediaType: mediaType || MediaTypes.OciIndex,
      manifests: doc.manifests.map((m, i) => descriptor(m, reference, `manifests[${i}]`)),
      annotations,
    };
  }
  if (!Array.isArray(doc.layers)) throw bad(reference, 'has neither layers nor manifests');
  return {
    kind: 'manifest',
    mediaType: mediaType || MediaTypes.OciManifest,
    ...(typeof doc.artifactType === 'string' ? { artifactType: doc.artifactType } : {}),
    config: descriptor(doc.config, reference, 'config'),
    layers: doc.layers.map((l, i) => descriptor(l, reference, `layers[${i}]`)),
    annotations,
  };
}
