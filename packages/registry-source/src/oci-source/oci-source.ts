import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type Artifact,
  type ArtifactFileInput,
  type ArtifactLimits,
  type ArtifactMeta,
  type ArtifactRecord,
  ArtifactStore,
  type FetchOptions,
  type ResolvedArtifactLimits,
  resolveArtifactLimits,
  type Source,
  type SourceChange,
} from '@gitops-kit/core';
import { readTarGz } from '../archive/tar.js';
import { type CosignKey, loadTrustedKeys, type TrustedKey } from '../cosign/keys.js';
import { verifyCosignSignature } from '../cosign/verify.js';
import { RegistryError, RegistryErrorCodes } from '../errors.js';
import { RegistryClient, type RegistryConnectionOptions } from '../oci/client.js';
import { isDigest } from '../oci/digest.js';
import type { ImageManifest } from '../oci/manifest.js';
import { formatReference, type OciReference, parseReference } from '../oci/reference.js';
import type { RegistryStatsSnapshot } from '../oci/stats.js';
import { copiedLayerName, type LayerSelector, metaOf, selectLayer } from './layer.js';
import { checkOciRef, describeOciRef, highestTag, type OCIRef } from './select.js';

/** Signature verification of an {@link OCISource}, as Flux's `spec.verify` with `provider: cosign`. */
export interface OCIVerifyOptions {
  /** Only cosign key signatures are verified (keyless needs Fulcio and Rekor, which are not reached). */
  readonly provider?: 'cosign' | undefined;
  /** Trusted public keys (`cosign.pub` PEM), each optionally named: one verifying signature is enough. */
  readonly keys: readonly CosignKey[];
}

/** Options of {@link OCISource}; the connection options are the client's. */
export interface OCISourceOptions extends RegistryConnectionOptions {
  /** The repository: `oci://host[:port]/path/name` (a tag or digest in it is used when `ref` is absent). */
  readonly url: string;
  /** What to follow: a tag (default `latest`), a semver range over the tags, or a digest. */
  readonly ref?: OCIRef | undefined;
  /** Which layer becomes the artifact; default the first, extracted (see {@link LayerSelector}). */
  readonly layerSelector?: LayerSelector | undefined;
  /** Verify cosign signatures before anything is downloaded; off when absent. Fails closed. */
  readonly verify?: OCIVerifyOptions | undefined;
  /** Caps on files and bytes of the extracted layer (defaults 10,000 files, 32 MiB each, 256 MiB in all; the layer blob is capped at the total too). */
  readonly limits?: ArtifactLimits | undefined;
  /**
   * A folder that survives restarts; default one under the OS temp folder named after the URL, ref
   * and layer selector. Sources of other refs or selectors may share it: each collects only its own
   * artifacts.
   */
  readonly cacheDir?: string | undefined;
  /** Artifacts kept on disk, the current one included (default 2). */
  readonly keepArtifacts?: number | undefined;
  /** A client to use (shared between sources of one registry); the other connection options are then ignored. */
  readonly client?: RegistryClient | undefined;
}

/** What the store keeps beside each artifact, to give it back after a restart. */
interface OCIArtifactData {
  readonly manifestDigest: string;
  readonly meta: ArtifactMeta;
}

const DEFAULT_LIMITS: ResolvedArtifactLimits = {
  maxFiles: 10_000,
  maxFileBytes: 32 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

/** A revision's tag and manifest digest: `v1@sha256:…` → `{ tag: 'v1', digest }`; `sha256:…` → no tag. */
function parseRevision(revision: string): { tag: string | undefined; digest: string } | undefined {
  const at = revision.lastIndexOf('@');
  const digest = at >= 0 ? revision.slice(at + 1) : revision;
  if (!isDigest(digest)) return undefined;
  return { tag: at >= 0 ? revision.slice(0, at) : undefined, digest };
}

/**
 * A Source over OCI artifacts in the format `flux push artifact` writes (one tar+gzip layer of
 * media type `application/vnd.cncf.flux.content.v1.tar+gzip`, config
 * `application/vnd.cncf.flux.config.v1+json`), selected by tag, semver range or digest. The
 * revision is `<tag>@sha256:<manifest digest>` (`sha256:<digest>` for a pinned digest), as Flux's
 * OCIRepository names it. A poll of a tag is one manifest `HEAD`: while the digest is the one on
 * disk, nothing is downloaded. With `verify`, the cosign signature (`sha256-<digest>.sig`) must
 * verify with a trusted key before the layer is downloaded; `meta.verified` and `meta.signer` say
 * so. Artifacts live in core's `ArtifactStore`.
 */
export class OCISource implements Source {
  /** `oci <host/repo> <ref>`, without credentials. */
  readonly description: string;
  readonly #reference: OciReference;
  readonly #ref: OCIRef;
  readonly #origin: string;
  readonly #client: RegistryClient;
  readonly #ownClient: boolean;
  readonly #selector: LayerSelector;
  readonly #keys: readonly TrustedKey[] | undefined;
  readonly #limits: ResolvedArtifactLimits;
  readonly #store: ArtifactStore<OCIArtifactData>;
  readonly #keep: number;
  /** What shapes an artifact besides its revision: part of its store name. */
  readonly #config: string;
  /**
   * What selects the artifact (repository, ref, layer selector): the prefix of every store name
   * this source makes, so garbage collection in a shared folder takes only its own. Limits and keys
   * stay out of it, so a source whose limits change still collects what it made before.
   */
  readonly #owner: string;
  #current: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /** Creates a source; nothing is contacted until the first fetch. Throws for a bad URL, ref or key. */
  constructor(options: OCISourceOptions) {
    const url = options.url.startsWith('oci://') ? options.url : `oci://${options.url}`;
    const parsed = parseReference(url);
    this.#reference = { registry: parsed.registry, repository: parsed.repository };
    this.#origin = `oci://${formatReference(this.#reference)}`;
    this.#ref = options.ref ?? (parsed.digest ? { digest: parsed.digest } : { tag: parsed.tag ?? 'latest' });
    checkOciRef(this.#ref, this.#origin);
    this.description = `oci ${formatReference(this.#reference)} ${describeOciRef(this.#ref)}`;
    this.#ownClient = options.client === undefined;
    this.#client =
      options.client ??
      new RegistryClient({
        credentials: options.credentials,
        caPem: options.caPem,
        insecureSkipTlsVerify: options.insecureSkipTlsVerify,
        plainHttp: options.plainHttp,
        fetch: options.fetch,
      });
    this.#selector = options.layerSelector ?? {};
    this.#keys = options.verify ? loadTrustedKeys(options.verify.keys) : undefined;
    this.#limits = resolveArtifactLimits(options.limits, DEFAULT_LIMITS).limits;
    this.#keep = Math.max(1, options.keepArtifacts ?? 2);
    const selects = createHash('sha256')
      .update(
        JSON.stringify([
          this.#origin,
          describeOciRef(this.#ref),
          this.#selector.mediaType ?? null,
          this.#selector.operation ?? 'extract',
        ]),
      )
      .digest('hex');
    this.#owner = selects.slice(0, 12);
    const cacheDir = options.cacheDir ?? join(tmpdir(), 'gitops-kit-oci', selects.slice(0, 16));
    this.#store = new ArtifactStore({ root: join(resolve(cacheDir), 'artifacts') });
    this.#config = JSON.stringify([
      this.#selector.mediaType ?? null,
      this.#selector.operation ?? 'extract',
      this.#limits,
      this.#keys?.map((k) => `${k.id}=${k.fingerprint}`) ?? null,
    ]);
  }

  /** The folder the artifacts are kept in. */
  get cacheDir(): string {
    return dirname(this.#store.root);
  }

  /** Requests (per operation) and body bytes of this source's registry client. */
  stats(): RegistryStatsSnapshot {
    return this.#client.stats();
  }

  /** Sets the request counters back to zero. */
  resetStats(): void {
    this.#client.resetStats();
  }

  /** Closes the connections of the client this source created (a client you passed stays open). */
  destroy(): void {
    if (this.#ownClient) this.#client.close();
  }

  /** Whether a change notification (a registry webhook) concerns this repository. */
  matches(change: SourceChange): boolean {
    if (change.url === undefined) return false;
    try {
      const other = parseReference(change.url);
      return other.registry === this.#reference.registry && other.repository === this.#reference.repository;
    } catch {
      return false;
    }
  }

  /** Fetches the artifact the ref points at now; one at a time. */
  fetch(options: FetchOptions): Promise<Artifact> {
    return this.#serial(() => this.#fetch(options.signal));
  }

  /**
   * The artifact of an earlier revision (`<tag>@sha256:<digest>` or `sha256:<digest>`): from disk,
   * else fetched by its manifest digest, which a registry keeps as long as the manifest exists. A
   * revision whose manifest is gone is `SOURCE_REVISION_UNAVAILABLE`.
   */
  fetchRevision(revision: string, options: FetchOptions): Promise<Artifact> {
    return this.#serial(async () => {
      const parsed = parseRevision(revision);
      if (!parsed) {
        throw new RegistryError(
          'SOURCE_REVISION_UNAVAILABLE',
          `${this.#origin}: ${JSON.stringify(revision)} is not an OCI revision (<tag>@sha256:<digest>)`,
          { reference: this.#origin },
        );
      }
      try {
        return await this.#artifactFor(revision, parsed.digest, options.signal);
      } catch (error) {
        if (error instanceof RegistryError && error.code === RegistryErrorCodes.NotFound) {
          throw new RegistryError(
            'SOURCE_REVISION_UNAVAILABLE',
            `${this.#origin}: revision ${revision} is gone from the registry (${error.message})`,
            { reference: this.#origin, url: error.url, status: error.status, cause: error },
          );
        }
        throw error;
      }
    });
  }

  /** Deletes an artifact the reconciler no longer reads (never the current one). */
  async release(artifact: Artifact): Promise<void> {
    if (dirname(artifact.dir) !== this.#store.root) return;
    const name = basename(artifact.dir);
    if (name === this.#current || !this.#owns(name)) return;
    await this.#store.remove(name);
  }

  #serial(run: () => Promise<Artifact>): Promise<Artifact> {
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #fetch(signal: AbortSignal): Promise<Artifact> {
    signal.throwIfAborted();
    const ref = this.#ref;
    if ('digest' in ref) return this.#artifactFor(ref.digest, ref.digest, signal);
    const tag = 'tag' in ref ? ref.tag : await this.#resolveSemver(ref.semver, signal);
    const shown = `${formatReference(this.#reference)}:${tag}`;
    const head = await this.#client.headManifest(this.#reference, tag, { signal, reference: shown });
    // A registry that sends no digest on HEAD costs a manifest GET per poll instead.
    const digest =
      head.digest ??
      (await this.#client.getManifest(this.#reference, tag, { signal, reference: shown })).digest;
    return this.#artifactFor(`${tag}@${digest}`, digest, signal);
  }

  async #resolveSemver(range: string, signal: AbortSignal): Promise<string> {
    const tags = await this.#client.listTags(this.#reference, { signal, reference: this.#origin });
    const tag = highestTag(tags, range);
    if (tag === undefined) {
      throw new RegistryError(
        RegistryErrorCodes.NoMatchingTag,
        `${this.#origin}: no tag satisfies semver ${range} (${tags.length} tag${tags.length === 1 ? '' : 's'} listed)`,
        { reference: this.#origin },
      );
    }
    return tag;
  }

  /** The store name of a revision under this source's settings. */
  #nameOf(revision: string): string {
    const hash = createHash('sha256').update(`${revision}\n${this.#config}`).digest('hex').slice(0, 40);
    return `${this.#owner}-${hash}`;
  }

  /**
   * Whether garbage collection may take `name`: one this source made, or one in the format of
   * earlier versions (40 hex, no owner), which no source names any more, so it is nobody's current.
   */
  #owns(name: string): boolean {
    return name.startsWith(`${this.#owner}-`) || /^[0-9a-f]{40}$/.test(name);
  }

  /** The artifact of `revision` (manifest `digest`): from the store when it is there, else pulled. */
  async #artifactFor(revision: string, digest: string, signal: AbortSignal): Promise<Artifact> {
    const name = this.#nameOf(revision);
    const stored = await this.#store.get(name);
    const record = stored ? await this.#store.touch(name) : await this.#pull(name, revision, digest, signal);
    this.#current = record.name;
    await this.#store.collectGarbage({
      keep: this.#keep,
      current: record.name,
      owns: (name) => this.#owns(name),
    });
    return this.#toArtifact(record);
  }

  /** Reads the manifest, verifies the signature, downloads and unpacks the layer, publishes it. */
  async #pull(
    name: string,
    revision: string,
    digest: string,
    signal: AbortSignal,
  ): Promise<ArtifactRecord<OCIArtifactData>> {
    const shown = `${formatReference(this.#reference)}@${digest}`;
    const fetched = await this.#client.getManifest(this.#reference, digest, { signal, reference: shown });
    const layer = selectLayer(fetched.manifest, this.#selector, shown);
    const manifest = fetched.manifest as ImageManifest;
    let meta: ArtifactMeta = metaOf(manifest, this.#origin);
    if (this.#keys) {
      // Before the layer is downloaded: an artifact that does not verify costs no more than its signature.
      const verified = await verifyCosignSignature({
        client: this.#client,
        repo: this.#reference,
        digest,
        keys: this.#keys,
        reference: shown,
        signal,
      });
      meta = { ...meta, verified: true, signer: verified.signer };
    }
    const blob = await this.#client.openBlob(this.#reference, layer.digest, {
      signal,
      reference: shown,
      maxBytes: this.#limits.maxTotalBytes,
      expectedSize: layer.size,
    });
    // The whole blob is checked against its digest before a byte of it is read as an archive.
    const download = await this.#store.stage();
    let files: ArtifactFileInput[];
    try {
      const file = join(download, 'layer');
      await pipeline(Readable.from(blob), createWriteStream(file), { signal });
      if (this.#selector.operation === 'copy') {
        files = [{ path: copiedLayerName(layer), content: await readFile(file) }];
      } else {
        const contents = await readTarGz(
          createReadStream(file),
          this.#limits,
          `${shown} layer ${layer.digest}`,
        );
        files = contents.files.map((f) => ({ path: f.path, content: f.content, executable: f.executable }));
      }
    } finally {
      await this.#store.discard(download);
    }
    signal.throwIfAborted();
    return this.#store.write(files, { name, revision, data: { manifestDigest: digest, meta }, signal });
  }

  #toArtifact(record: ArtifactRecord<OCIArtifactData>): Artifact {
    return {
      revision: record.revision,
      digest: record.digest,
      dir: this.#store.dirOf(record.name),
      meta: record.data?.meta ?? { origin: this.#origin },
    };
  }
}
