import type { ArtifactMeta } from '@gitops-kit/core';
import { RegistryError, RegistryErrorCodes } from '../errors.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/manifest.js';

/** Which layer of the artifact becomes the artifact's files, as Flux's `spec.layerSelector`. */
export interface LayerSelector {
  /** The first layer of this media type is used; default the first layer (Flux's default). */
  readonly mediaType?: string | undefined;
  /**
   * `extract` (default): the layer is a tar+gzip archive whose files are the artifact. `copy`: the
   * layer's blob is kept as it is, as one file (its `org.opencontainers.image.title`, else `layer.tgz`).
   */
  readonly operation?: 'extract' | 'copy' | undefined;
}

/** OCI annotations Flux writes on the artifacts it pushes, read into the audit metadata. */
export const Annotations = {
  /** Where the content came from (`flux push artifact --source`, a Git URL). */
  Source: 'org.opencontainers.image.source',
  /** The source's revision (`--revision`, `main@sha1:<commit>`). */
  Revision: 'org.opencontainers.image.revision',
  /** When the artifact was made, RFC 3339. */
  Created: 'org.opencontainers.image.created',
  /** A layer's file name. */
  Title: 'org.opencontainers.image.title',
  /** Who made it. */
  Authors: 'org.opencontainers.image.authors',
} as const;

/** The layer the selector picks, or a typed error saying why none fits. */
export function selectLayer(
  manifest: ImageManifest | ImageIndex,
  selector: LayerSelector,
  reference: string,
): Descriptor {
  if (manifest.kind === 'index') {
    throw new RegistryError(
      RegistryErrorCodes.UnsupportedArtifact,
      `${reference}: the reference is an image index (${manifest.manifests.length} manifests), not a single artifact`,
      { reference },
    );
  }
  const layer = selector.mediaType
    ? manifest.layers.find((l) => l.mediaType === selector.mediaType)
    : manifest.layers[0];
  if (!layer) {
    const types = [...new Set(manifest.layers.map((l) => l.mediaType))].join(', ') || 'none';
    throw new RegistryError(
      RegistryErrorCodes.UnsupportedArtifact,
      selector.mediaType
        ? `${reference}: no layer has the media type ${selector.mediaType} (layers: ${types})`
        : `${reference}: the artifact has no layers`,
      { reference },
    );
  }
  return layer;
}

/** The file name a copied layer gets: its title annotation when it is a plain name, else `layer.tgz`. */
export function copiedLayerName(layer: Descriptor): string {
  const title = layer.annotations?.[Annotations.Title];
  return title && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(title) ? title : 'layer.tgz';
}

/**
 * Audit metadata from the manifest's annotations (`flux push artifact --source --revision` writes
 * `org.opencontainers.image.source` and `.revision`, and `.created`).
 */
export function metaOf(manifest: ImageManifest, origin: string): ArtifactMeta {
  const a = manifest.annotations;
  const source = a[Annotations.Source];
  const revision = a[Annotations.Revision];
  const parts = [
    source ? `source ${source}` : undefined,
    revision ? `revision ${revision}` : undefined,
  ].filter((p): p is string => p !== undefined);
  const created = a[Annotations.Created];
  return {
    origin,
    ...(parts.length > 0 ? { message: parts.join(', ') } : {}),
    ...(created && !Number.isNaN(Date.parse(created)) ? { time: new Date(created).toISOString() } : {}),
    ...(a[Annotations.Authors] ? { author: a[Annotations.Authors] } : {}),
  };
}
