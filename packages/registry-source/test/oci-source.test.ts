import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '@gitops-kit/core';
import {
  OCISource,
  type OCISourceOptions,
  RegistryError,
  RegistryErrorCodes,
  SignatureVerificationError,
} from '@gitops-kit/registry-source';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registryError } from './support/errors.js';
import { FakeRegistry } from './support/fake-registry.js';
import { cosignSignature, fluxArtifact } from './support/flux-artifact.js';

const REPO = 'team/app';
const signal = new AbortController().signal;

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

describe('OCISource', () => {
  let dir: string;
  let registry: FakeRegistry;
  const sources: OCISource[] = [];

  const source = (options: Partial<OCISourceOptions> = {}): OCISource => {
    const made = new OCISource({
      url: `oci://${registry.host}/${REPO}`,
      fetch: registry.fetch,
      cacheDir: dir,
      ...options,
    });
    sources.push(made);
    return made;
  };
  const push = (tag: string | undefined, files: Record<string, string>, annotations = {}) =>
    registry.putArtifact(REPO, tag, fluxArtifact(files, annotations));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-source-'));
    registry = new FakeRegistry();
  });
  afterEach(async () => {
    for (const s of sources.splice(0)) s.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('pulls a tag into an artifact named <tag>@<digest>; an unchanged poll is one HEAD and downloads nothing', async () => {
    const digest = push(
      'v1',
      { 'app.yaml': 'kind: ConfigMap\n', 'sub/b.yaml': 'b: 1\n' },
      {
        'org.opencontainers.image.source': 'https://git.test/app.git',
        'org.opencontainers.image.revision': 'main@sha1:abc',
      },
    );
    const oci = source({ ref: { tag: 'v1' } });
    expect(oci.description).toBe('oci registry.test/team/app tag v1');
    const first = await oci.fetch({ signal });
    expect(first.revision).toBe(`v1@${digest}`);
    expect(await readFile(join(first.dir, 'app.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
    expect(await readFile(join(first.dir, 'sub/b.yaml'), 'utf8')).toBe('b: 1\n');
    expect(first.meta).toMatchObject({
      origin: 'oci://registry.test/team/app',
      message: 'source https://git.test/app.git, revision main@sha1:abc',
      time: '2026-12-01T10:00:00.000Z',
    });
    expect(first.meta.verified).toBeUndefined();

    registry.reset();
    oci.resetStats();
    const again = await oci.fetch({ signal, previous: first });
    expect(registry.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      'HEAD /v2/team/app/manifests/v1',
    ]);
    expect(oci.stats()).toMatchObject({ requests: 1, bytes: 0 });
    expect(again).toEqual(first);

    const next = push('v1', { 'app.yaml': 'kind: Secret\n' });
    const moved = await oci.fetch({ signal, previous: first });
    expect(moved.revision).toBe(`v1@${next}`);
    expect(moved.dir).not.toBe(first.dir);
    expect(await readdir(moved.dir)).toEqual(['app.yaml']);
  });

  it('follows the highest tag in a semver range, and a newer one on the next poll', async () => {
    push('1.0.0', { 'v.txt': '1.0.0' });
    push('v1.1.0', { 'v.txt': '1.1.0' });
    push('2.0.0', { 'v.txt': '2.0.0' });
    push('1.2.0-rc.1', { 'v.txt': 'rc' });
    push('latest', { 'v.txt': 'latest' });
    const oci = source({ ref: { semver: '^1.0.0' } });
    const first = await oci.fetch({ signal });
    expect(first.revision).toMatch(/^v1\.1\.0@sha256:/);
    expect(await readFile(join(first.dir, 'v.txt'), 'utf8')).toBe('1.1.0');
    const newer = push('1.2.0', { 'v.txt': '1.2.0' });
    const second = await oci.fetch({ signal, previous: first });
    expect(second.revision).toBe(`1.2.0@${newer}`);
    const none = source({ ref: { semver: '>=3.0.0' } });
    const error = await registryError(none.fetch({ signal }));
    expect(error.code).toBe(RegistryErrorCodes.NoMatchingTag);
    expect(error.message).toContain('oci://registry.test/team/app');
    expect(error.message).toContain('>=3.0.0');
  });

  it('pins a digest: revision sha256:<digest>, and no request at all once it is on disk', async () => {
    const digest = push(undefined, { 'a.yaml': 'a: 1\n' });
    const oci = source({ ref: { digest } });
    const first = await oci.fetch({ signal });
    expect(first.revision).toBe(digest);
    registry.reset();
    await oci.fetch({ signal, previous: first });
    expect(registry.count()).toBe(0);
  });

  it('a restarted source finds its artifact on disk: one HEAD, no download', async () => {
    push('v1', { 'a.yaml': 'a: 1\n' });
    const first = await source({ ref: { tag: 'v1' } }).fetch({ signal });
    registry.reset();
    const restarted = await source({ ref: { tag: 'v1' } }).fetch({ signal });
    expect(restarted.dir).toBe(first.dir);
    expect(registry.count()).toBe(1);
  });

  it("sources of other tags sharing a folder never delete each other's current artifact", async () => {
    push('staging', { 'env.yaml': 'staging 0\n' });
    push('prod', { 'env.yaml': 'prod\n' });
    const staging = source({ ref: { tag: 'staging' }, keepArtifacts: 1 });
    const prod = source({ ref: { tag: 'prod' }, keepArtifacts: 1 });
    const prodArtifact = await prod.fetch({ signal });
    let previous = await staging.fetch({ signal });
    for (let i = 1; i <= 3; i++) {
      push('staging', { 'env.yaml': `staging ${i}\n` });
      const next = await staging.fetch({ signal, previous });
      // Garbage collection of its own: with keepArtifacts 1 the replaced staging artifact goes.
      await expect(readdir(previous.dir)).rejects.toThrow();
      previous = next;
      expect(await readFile(join(prodArtifact.dir, 'env.yaml'), 'utf8')).toBe('prod\n');
    }
    // And the other way round.
    push('prod', { 'env.yaml': 'prod 2\n' });
    const prodNext = await prod.fetch({ signal, previous: prodArtifact });
    expect(await readFile(join(prodNext.dir, 'env.yaml'), 'utf8')).toBe('prod 2\n');
    expect(await readFile(join(previous.dir, 'env.yaml'), 'utf8')).toBe('staging 3\n');
    // A restarted prod source still finds its artifact: one HEAD, no download.
    registry.reset();
    expect((await source({ ref: { tag: 'prod' } }).fetch({ signal })).dir).toBe(prodNext.dir);
    expect(registry.count()).toBe(1);
  });

  it('collects artifacts named as earlier versions named them (no owner), which nobody serves any more', async () => {
    const legacy = 'a'.repeat(40);
    const store = new ArtifactStore({ root: join(dir, 'artifacts') });
    await store.write([{ path: 'old.yaml', content: 'old\n' }], { name: legacy, revision: 'v0@sha256:old' });
    push('v1', { 'a.yaml': 'a: 1\n' });
    await source({ ref: { tag: 'v1' }, keepArtifacts: 1 }).fetch({ signal });
    expect(await store.get(legacy)).toBeUndefined();
  });

  it('gives sources of other refs or layer selectors other default folders', () => {
    const folder = (options: Partial<OCISourceOptions>): string =>
      new OCISource({ url: `oci://${registry.host}/${REPO}`, fetch: registry.fetch, ...options }).cacheDir;
    const staging = folder({ ref: { tag: 'staging' } });
    expect(folder({ ref: { tag: 'staging' } })).toBe(staging);
    expect(folder({ url: `oci://${registry.host}/${REPO}:staging` })).toBe(staging);
    expect(folder({ ref: { tag: 'prod' } })).not.toBe(staging);
    expect(folder({ ref: { semver: '^1' } })).not.toBe(staging);
    expect(folder({ ref: { tag: 'staging' }, layerSelector: { operation: 'copy' } })).not.toBe(staging);
  });

  it('a layer whose bytes do not match its digest is a typed error, and no artifact is made', async () => {
    const artifact = fluxArtifact({ 'a.yaml': 'a: 1\n' });
    registry.putArtifact(REPO, 'v1', artifact);
    const layerDigest = (JSON.parse(artifact.manifest.toString()) as { layers: { digest: string }[] })
      .layers[0]?.digest as string;
    // Same size, one byte changed: only the digest can tell.
    const corrupt = Buffer.from(artifact.layer);
    corrupt[20] = (corrupt[20] ?? 0) ^ 0xff;
    registry.corruptBlobs.set(layerDigest, corrupt);
    const oci = source({ ref: { tag: 'v1' } });
    const error = await registryError(oci.fetch({ signal }));
    expect(error.code).toBe(RegistryErrorCodes.DigestMismatch);
    expect(error.message).toContain(layerDigest);
    const left = (await readdir(join(dir, 'artifacts')).catch(() => [] as string[])).filter(
      (n) => !n.startsWith('.'),
    );
    expect(left).toEqual([]);
  });

  it('refuses archive entries that would leave the artifact and skips links', async () => {
    registry.putArtifact(REPO, 'evil', fluxArtifact({ '../escape.yaml': 'x' }));
    const error = await registryError(source({ ref: { tag: 'evil' } }).fetch({ signal }));
    expect(error.code).toBe(RegistryErrorCodes.BadArchive);
    expect(error.message).toContain('../escape.yaml');
    registry.putArtifact(
      REPO,
      'links',
      fluxArtifact({ 'ok.yaml': 'ok: 1\n', 'link.yaml': { content: '', type: '2', link: '/etc/passwd' } }),
    );
    const linked = await source({ ref: { tag: 'links' } }).fetch({ signal });
    expect(await readdir(linked.dir)).toEqual(['ok.yaml']);
  });

  it('copies the layer as it is with operation copy', async () => {
    const artifact = fluxArtifact({ 'a.yaml': 'a: 1\n' });
    registry.putArtifact(REPO, 'v1', artifact);
    const copied = await source({ ref: { tag: 'v1' }, layerSelector: { operation: 'copy' } }).fetch({
      signal,
    });
    expect(await readFile(join(copied.dir, 'layer.tgz'))).toEqual(artifact.layer);
  });

  it('a layer selector naming an absent media type is a typed error listing the layers', async () => {
    push('v1', { 'a.yaml': 'a' });
    const oci = source({ ref: { tag: 'v1' }, layerSelector: { mediaType: 'application/x-nope' } });
    const error = await registryError(oci.fetch({ signal }));
    expect(error.code).toBe(RegistryErrorCodes.UnsupportedArtifact);
    expect(error.message).toContain('application/vnd.cncf.flux.content.v1.tar+gzip');
  });

  it('serves an earlier revision by its digest after the tag moved', async () => {
    const old = push('v1', { 'a.yaml': 'old' });
    const oci = source({ ref: { tag: 'v1' } });
    const first = await oci.fetch({ signal });
    push('v1', { 'a.yaml': 'new' });
    await oci.fetch({ signal, previous: first });
    await oci.release(first);
    const back = await oci.fetchRevision(`v1@${old}`, { signal });
    expect(back.revision).toBe(`v1@${old}`);
    expect(await readFile(join(back.dir, 'a.yaml'), 'utf8')).toBe('old');
    const gone = await registryError(oci.fetchRevision(`v1@sha256:${'0'.repeat(64)}`, { signal }));
    expect(gone.code).toBe('SOURCE_REVISION_UNAVAILABLE');
  });

  describe('cosign verification', () => {
    it('passes a signature by a trusted key: meta.verified and the signer name', async () => {
      const trusted = keyPair();
      const digest = push('v1', { 'a.yaml': 'a' });
      const sig = cosignSignature(trusted.privateKey, `${registry.host}/${REPO}`, digest);
      registry.putArtifact(REPO, sig.tag, sig);
      const other = keyPair();
      const oci = source({
        ref: { tag: 'v1' },
        verify: { keys: [other.pem, { name: 'release-key', pem: trusted.pem }] },
      });
      const artifact = await oci.fetch({ signal });
      expect(artifact.meta.verified).toBe(true);
      expect(artifact.meta.signer).toBe('release-key');
      // An unnamed key is named by its fingerprint.
      const unnamed = await source({
        ref: { tag: 'v1' },
        verify: { keys: [trusted.pem] },
        cacheDir: join(dir, 'u'),
      }).fetch({
        signal,
      });
      expect(unnamed.meta.signer).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('fails closed: unsigned, wrong key and a payload for another digest are typed errors, and the layer is never downloaded', async () => {
      const trusted = keyPair();
      const stranger = keyPair();
      const digest = push('v1', { 'a.yaml': 'a' });
      const layerDigest = (
        JSON.parse(registry.manifests.get(`${REPO}@${digest}`)?.bytes.toString() ?? '{}') as {
          layers: { digest: string }[];
        }
      ).layers[0]?.digest;
      const oci = source({ ref: { tag: 'v1' }, verify: { keys: [trusted.pem] } });

      const unsigned = await registryError(oci.fetch({ signal }));
      expect(unsigned).toBeInstanceOf(SignatureVerificationError);
      expect(unsigned.code).toBe(RegistryErrorCodes.Unsigned);
      expect(unsigned.message).toContain(`sha256-${digest.slice(7)}.sig`);

      const wrong = cosignSignature(stranger.privateKey, `${registry.host}/${REPO}`, digest);
      registry.putArtifact(REPO, wrong.tag, wrong);
      const invalid = await registryError(oci.fetch({ signal }));
      expect(invalid.code).toBe(RegistryErrorCodes.SignatureInvalid);

      const elsewhere = push('other', { 'b.yaml': 'b' });
      const copied = cosignSignature(trusted.privateKey, `${registry.host}/${REPO}`, digest, {
        payloadDigest: elsewhere,
      });
      registry.putArtifact(REPO, copied.tag, copied);
      const mismatch = await registryError(oci.fetch({ signal }));
      expect(mismatch.code).toBe(RegistryErrorCodes.SignaturePayloadMismatch);
      expect(mismatch.message).toContain(elsewhere);

      const garbage = cosignSignature(trusted.privateKey, `${registry.host}/${REPO}`, digest, {
        signature: 'bm90IGEgc2lnbmF0dXJl',
      });
      registry.putArtifact(REPO, garbage.tag, garbage);
      expect((await registryError(oci.fetch({ signal }))).code).toBe(RegistryErrorCodes.SignatureInvalid);

      expect(registry.count((r) => r.url.endsWith(`/blobs/${layerDigest}`))).toBe(0);
      const left = (await readdir(join(dir, 'artifacts')).catch(() => [] as string[])).filter(
        (n) => !n.startsWith('.'),
      );
      expect(left).toEqual([]);
    });

    it('refuses a key that is not a public key when the source is made', () => {
      expect(() => source({ verify: { keys: ['not a key'] } })).toThrow(/key #1 is not a PEM public key/);
      expect(() => source({ verify: { keys: [] } })).toThrow(RegistryError);
    });
  });
});
