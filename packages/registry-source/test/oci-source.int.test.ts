/**
 * OCISource against the real registry (distribution v3 over TLS with a CA made for it and basic
 * auth), artifacts pushed in `flux push artifact`'s format through the registry API, signatures
 * made by the real cosign.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNodeFetch,
  type FetchLike,
  OCISource,
  type OCISourceOptions,
  RegistryErrorCodes,
  SignatureVerificationError,
} from '@gitops-kit/registry-source';
import { type RegistryInfo, startRegistry, testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cosign, type CosignKeyPair } from './support/cosign.js';
import { registryError } from './support/errors.js';
import { fluxArtifact } from './support/flux-artifact.js';
import { RegistryPusher } from './support/registry-push.js';

const signal = (): AbortSignal => AbortSignal.timeout(60_000);
const dirs: string[] = [];
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  dirs.push(dir);
  return dir;
}

/** A transport that counts the requests that reach the network. */
function countingFetch(info: RegistryInfo): { fetch: FetchLike; seen: string[] } {
  const inner = createNodeFetch({ caPem: info.caPem });
  cleanups.push(() => inner.close());
  const seen: string[] = [];
  return {
    seen,
    fetch: (url, init) => {
      seen.push(`${init.method} ${new URL(url).pathname}`);
      return inner(url, init);
    },
  };
}

describe('OCISource on the real registry (TLS, basic auth)', () => {
  let info: RegistryInfo;
  let pusher: RegistryPusher;
  const sources: OCISource[] = [];
  const repository = (): string => `apps/demo-${randomBytes(3).toString('hex')}`;
  const source = async (options: Partial<OCISourceOptions> & { url: string }): Promise<OCISource> => {
    const made = new OCISource({
      credentials: { username: info.username ?? '', password: info.password ?? '' },
      caPem: info.caPem,
      cacheDir: await tempDir('oci-cache'),
      ...options,
    });
    sources.push(made);
    return made;
  };

  beforeAll(async () => {
    info = await testenv.registry();
    pusher = new RegistryPusher(info);
  });
  afterAll(() => {
    for (const s of sources) s.destroy();
  });

  it('polls a tag; a no-change poll is exactly one request and downloads nothing; a moved tag is picked up', async () => {
    const repo = repository();
    const v1 = await pusher.artifact(
      repo,
      'latest',
      fluxArtifact(
        { 'deploy/app.yaml': 'kind: ConfigMap\n' },
        {
          'org.opencontainers.image.source': 'https://git.test/app.git',
          'org.opencontainers.image.revision': 'main@sha1:0a1b',
        },
      ),
    );
    const counted = countingFetch(info);
    const oci = await source({ url: `oci://${info.host}/${repo}`, fetch: counted.fetch });
    const first = await oci.fetch({ signal: signal() });
    expect(first.revision).toBe(`latest@${v1}`);
    expect(await readFile(join(first.dir, 'deploy/app.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
    expect(first.meta.message).toBe('source https://git.test/app.git, revision main@sha1:0a1b');

    counted.seen.length = 0;
    oci.resetStats();
    const same = await oci.fetch({ signal: signal(), previous: first });
    expect(counted.seen).toEqual([`HEAD /v2/${repo}/manifests/latest`]);
    expect(oci.stats().bytes).toBe(0);
    expect(same.dir).toBe(first.dir);

    const v2 = await pusher.artifact(repo, 'latest', fluxArtifact({ 'deploy/app.yaml': 'kind: Secret\n' }));
    const moved = await oci.fetch({ signal: signal(), previous: first });
    expect(moved.revision).toBe(`latest@${v2}`);
    expect(await readFile(join(moved.dir, 'deploy/app.yaml'), 'utf8')).toBe('kind: Secret\n');
  });

  it('follows a semver range over the tag list, and a newer tag published after the first poll', async () => {
    const repo = repository();
    await pusher.artifact(repo, '1.0.0', fluxArtifact({ 'v.txt': '1.0.0' }));
    await pusher.artifact(repo, '1.4.0', fluxArtifact({ 'v.txt': '1.4.0' }));
    await pusher.artifact(repo, '2.0.0', fluxArtifact({ 'v.txt': '2.0.0' }));
    const oci = await source({ url: `oci://${info.host}/${repo}`, ref: { semver: '~1.4.0 || 1.0.x' } });
    const first = await oci.fetch({ signal: signal() });
    expect(first.revision).toMatch(/^1\.4\.0@sha256:/);
    const newer = await pusher.artifact(repo, '1.4.2', fluxArtifact({ 'v.txt': '1.4.2' }));
    const second = await oci.fetch({ signal: signal(), previous: first });
    expect(second.revision).toBe(`1.4.2@${newer}`);
    expect(await readFile(join(second.dir, 'v.txt'), 'utf8')).toBe('1.4.2');
  });

  it('pins a digest', async () => {
    const repo = repository();
    const digest = await pusher.artifact(repo, 'v1', fluxArtifact({ 'a.yaml': 'a: 1\n' }));
    await pusher.artifact(repo, 'v1', fluxArtifact({ 'a.yaml': 'a: 2\n' }));
    const oci = await source({ url: `oci://${info.host}/${repo}@${digest}` });
    const artifact = await oci.fetch({ signal: signal() });
    expect(artifact.revision).toBe(digest);
    expect(await readFile(join(artifact.dir, 'a.yaml'), 'utf8')).toBe('a: 1\n');
  });

  it('a layer damaged in the registry is a digest mismatch and no artifact', async () => {
    const repo = repository();
    const artifact = fluxArtifact({ 'a.yaml': 'a: 1\n' });
    await pusher.artifact(repo, 'v1', artifact);
    const layer =
      (JSON.parse(artifact.manifest.toString()) as { layers: { digest: string }[] }).layers[0]?.digest ?? '';
    const damaged = Buffer.from(artifact.layer);
    damaged[30] = (damaged[30] ?? 0) ^ 0x55;
    await writeFile(pusher.blobFile(layer), damaged);
    const oci = await source({ url: `oci://${info.host}/${repo}:v1` });
    const error = await registryError(oci.fetch({ signal: signal() }));
    expect(error.code).toBe(RegistryErrorCodes.DigestMismatch);
    expect(error.message).toContain(layer);
    expect(error.message).toContain(info.host);
  });

  it('wrong credentials are an auth error that names the URL and not the password', async () => {
    const repo = repository();
    await pusher.artifact(repo, 'v1', fluxArtifact({ 'a.yaml': 'a' }));
    const oci = await source({
      url: `oci://${info.host}/${repo}:v1`,
      credentials: { username: info.username ?? '', password: 'Wr0ng-pa55word' },
    });
    const error = await registryError(oci.fetch({ signal: signal() }));
    expect(error.code).toBe(RegistryErrorCodes.AuthFailed);
    expect(error.status).toBe(401);
    expect(error.message).toContain(`https://${info.host}/v2/${repo}/manifests/v1`);
    expect(JSON.stringify({ message: error.message, cause: String(error.cause) })).not.toContain(
      'Wr0ng-pa55word',
    );
    const anonymous = await source({ url: `oci://${info.host}/${repo}:v1`, credentials: undefined });
    expect((await registryError(anonymous.fetch({ signal: signal() }))).code).toBe(
      RegistryErrorCodes.AuthFailed,
    );
  });

  it('a registry that is down is a typed error without credentials; an untrusted certificate too', async () => {
    const own = await startRegistry(await tempDir('oci-down'));
    const oci = await source({
      url: `oci://${own.info.host}/apps/x:v1`,
      credentials: { username: own.info.username ?? '', password: own.info.password ?? '' },
      caPem: own.info.caPem,
    });
    await own.stop();
    const error = await registryError(oci.fetch({ signal: signal() }));
    expect(error.code).toBe(RegistryErrorCodes.Unreachable);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain(own.info.host);
    expect(error.message).not.toContain(own.info.password ?? '?');
    const untrusted = await source({ url: `oci://${info.host}/apps/x:v1`, caPem: undefined });
    const tls = await registryError(untrusted.fetch({ signal: signal() }));
    expect(tls.code).toBe(RegistryErrorCodes.Unreachable);
    expect(tls.message).toMatch(/certificate|self[- ]signed/i);
  });

  describe('bearer tokens (the distribution token spec, with a token service of testenv)', () => {
    it('gets a token with the credentials, reuses it on the next poll, pulls public repositories anonymously', async () => {
      const own = await startRegistry(await tempDir('oci-token'), { auth: 'token' });
      cleanups.push(() => own.stop());
      expect(own.info.auth).toBe('token');
      const ownPusher = new RegistryPusher(own.info);
      const privateDigest = await ownPusher.artifact(
        'apps/private',
        'v1',
        fluxArtifact({ 'a.yaml': 'private' }),
      );
      await ownPusher.artifact('public/open', 'v1', fluxArtifact({ 'a.yaml': 'open' }));
      const issuedBefore = own.tokensIssued();
      const counted = countingFetch(own.info);
      const credentials = { username: own.info.username ?? '', password: own.info.password ?? '' };
      const oci = await source({
        url: `oci://${own.info.host}/apps/private:v1`,
        credentials,
        caPem: own.info.caPem,
        fetch: counted.fetch,
      });
      const artifact = await oci.fetch({ signal: signal() });
      expect(artifact.revision).toBe(`v1@${privateDigest}`);
      expect(own.tokensIssued() - issuedBefore).toBe(1);
      expect(counted.seen[0]).toBe('HEAD /v2/apps/private/manifests/v1');
      expect(counted.seen[1]).toBe('GET /token');
      counted.seen.length = 0;
      await oci.fetch({ signal: signal(), previous: artifact });
      expect(counted.seen).toEqual(['HEAD /v2/apps/private/manifests/v1']);

      const anonymous = await source({
        url: `oci://${own.info.host}/public/open:v1`,
        credentials: undefined,
        caPem: own.info.caPem,
      });
      expect(await readFile(join((await anonymous.fetch({ signal: signal() })).dir, 'a.yaml'), 'utf8')).toBe(
        'open',
      );
      const refused = await source({
        url: `oci://${own.info.host}/apps/private:v1`,
        credentials: undefined,
        caPem: own.info.caPem,
      });
      const denied = await registryError(refused.fetch({ signal: signal() }));
      expect(denied.code).toBe(RegistryErrorCodes.AuthFailed);
      expect(denied.message).toContain('anonymous');

      const wrong = await source({
        url: `oci://${own.info.host}/apps/private:v1`,
        credentials: { username: credentials.username, password: 'N0t-the-passw0rd' },
        caPem: own.info.caPem,
      });
      const error = await registryError(wrong.fetch({ signal: signal() }));
      expect(error.code).toBe(RegistryErrorCodes.AuthFailed);
      expect(error.message).toContain(own.info.tokenRealm ?? '?');
      expect(error.message).not.toContain('N0t-the-passw0rd');
    });
  });

  describe('cosign signatures (made by the real cosign)', () => {
    let cosign: Cosign;
    let trusted: CosignKeyPair;
    let stranger: CosignKeyPair;

    beforeAll(async () => {
      cosign = await Cosign.create(await tempDir('cosign'), info);
      trusted = await cosign.generateKeyPair('trusted');
      stranger = await cosign.generateKeyPair('stranger');
    });

    it('refuses an unsigned artifact and one signed by another key; passes one signed with the trusted key', async () => {
      const repo = repository();
      const digest = await pusher.artifact(repo, 'v1', fluxArtifact({ 'a.yaml': 'signed: yes\n' }));
      const verifying = () =>
        source({
          url: `oci://${info.host}/${repo}:v1`,
          verify: { provider: 'cosign', keys: [{ name: 'release', pem: trusted.publicKey }] },
        });

      const unsigned = await registryError((await verifying()).fetch({ signal: signal() }));
      expect(unsigned).toBeInstanceOf(SignatureVerificationError);
      expect(unsigned.code).toBe(RegistryErrorCodes.Unsigned);

      await cosign.sign(stranger, repo, digest);
      const wrong = await registryError((await verifying()).fetch({ signal: signal() }));
      expect(wrong.code).toBe(RegistryErrorCodes.SignatureInvalid);
      expect(await cosign.verify(trusted, repo, digest)).toBe(false);

      await cosign.sign(trusted, repo, digest);
      expect(await cosign.verify(trusted, repo, digest)).toBe(true);
      const artifact = await (await verifying()).fetch({ signal: signal() });
      expect(artifact.revision).toBe(`v1@${digest}`);
      expect(artifact.meta.verified).toBe(true);
      expect(artifact.meta.signer).toBe('release');
      expect(await readFile(join(artifact.dir, 'a.yaml'), 'utf8')).toBe('signed: yes\n');
    });

    it('a signature copied from another artifact is refused as a payload mismatch', async () => {
      const repo = repository();
      const signed = await pusher.artifact(repo, 'good', fluxArtifact({ 'a.yaml': 'good' }));
      const other = await pusher.artifact(repo, 'evil', fluxArtifact({ 'a.yaml': 'evil' }));
      await cosign.sign(trusted, repo, signed);
      // Put the good artifact's signature manifest under the evil artifact's signature tag.
      const sigTag = `sha256-${signed.slice(7)}.sig`;
      const response = await countingFetch(info).fetch(`${info.url}/v2/${repo}/manifests/${sigTag}`, {
        method: 'GET',
        redirect: 'manual',
        headers: {
          accept: 'application/vnd.oci.image.manifest.v1+json',
          authorization: `Basic ${Buffer.from(`${info.username}:${info.password}`).toString('base64')}`,
        },
      });
      await pusher.manifest(repo, `sha256-${other.slice(7)}.sig`, Buffer.from(await response.arrayBuffer()));
      const oci = await source({
        url: `oci://${info.host}/${repo}:evil`,
        verify: { keys: [trusted.publicKey] },
      });
      const error = await registryError(oci.fetch({ signal: signal() }));
      expect(error.code).toBe(RegistryErrorCodes.SignaturePayloadMismatch);
      expect(error.message).toContain(signed);
    });
  });
});
