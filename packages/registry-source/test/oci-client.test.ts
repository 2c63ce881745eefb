import { Redactor } from '@gitops-kit/core';
import {
  type FetchLike,
  parseChallenges,
  parseReference,
  RegistryAuth,
  RegistryClient,
  RegistryError,
  RegistryErrorCodes,
} from '@gitops-kit/registry-source';
import { describe, expect, it } from 'vitest';
import { nextTagsPage } from '../src/oci/tags.js';
import { registryError } from './support/errors.js';
import { FakeRegistry } from './support/fake-registry.js';

const repo = { registry: 'registry.test', repository: 'team/app' };

function image(registry: FakeRegistry, tag: string, layer = `content of ${tag}`): string {
  const config = Buffer.from('{}');
  const bytes = Buffer.from(layer);
  return registry.putManifest('team/app', tag, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.cncf.flux.config.v1+json',
      digest: registry.putBlob(config),
      size: 2,
    },
    layers: [
      {
        mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip',
        digest: registry.putBlob(bytes),
        size: bytes.length,
      },
    ],
  });
}

describe('parseReference', () => {
  it('reads registry, repository, tag and digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`oci://127.0.0.1:5000/team/app:v1.2.3@${digest}`)).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'team/app',
      tag: 'v1.2.3',
      digest,
    });
    expect(parseReference('ghcr.io/org/manifests')).toEqual({
      registry: 'ghcr.io',
      repository: 'org/manifests',
      tag: undefined,
      digest: undefined,
    });
    expect(parseReference('nginx:1.27')).toMatchObject({
      registry: 'docker.io',
      repository: 'library/nginx',
      tag: '1.27',
    });
    expect(parseReference('localhost/app')).toMatchObject({ registry: 'localhost', repository: 'app' });
    expect(parseReference(`nginx@${digest}`)).toMatchObject({ repository: 'library/nginx', digest });
  });

  it('refuses what is not a reference, with a typed error', () => {
    for (const bad of [
      'https://host/app',
      'oci://host/App',
      'oci://host/app@sha256:abc',
      'oci://user:pw@host/app',
      'oci://host/',
    ]) {
      expect(() => parseReference(bad)).toThrow(RegistryError);
      try {
        parseReference(bad);
      } catch (error) {
        expect((error as RegistryError).code).toBe(RegistryErrorCodes.InvalidReference);
      }
    }
  });

  it('never quotes credentials written into the reference, in the message, the reference or any cause', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const cases = [
      ['oci://robot:Sup3rSecret@registry.test/team/app:v1', 'oci://registry.test/team/app:v1'],
      ['robot:Sup3rSecret@registry.test:5000/team/app', 'registry.test:5000/team/app'],
      [`oci://robot:Sup3rSecret@registry.test/team/app@${digest}`, `oci://registry.test/team/app@${digest}`],
      // Raw `@` and `/` in a password, no repository, another scheme: still never quoted.
      ['oci://robot:Sup3r@Secret@registry.test/team/app', 'oci://registry.test/team/app'],
      ['oci://robot:Sup3r/Secret@registry.test/team/app', 'oci://registry.test/team/app'],
      ['oci://robot:Sup3rSecret@registry.test', 'oci://registry.test'],
      ['oci://robot:Sup3rSecret@registry.test:5000', 'oci://registry.test:5000'],
      ['https://robot:Sup3rSecret@registry.test/team/app', 'https://registry.test/team/app'],
    ] as const;
    for (const [input, shown] of cases) {
      let error: unknown;
      try {
        parseReference(input);
      } catch (thrown) {
        error = thrown;
      }
      expect(error, input).toBeInstanceOf(RegistryError);
      const registryError = error as RegistryError;
      expect(registryError.code).toBe(RegistryErrorCodes.InvalidReference);
      expect(registryError.reference).toBe(shown);
      expect(registryError.message).toContain(JSON.stringify(shown));
      const texts: string[] = [JSON.stringify(registryError), String(registryError.stack)];
      for (let cause: unknown = registryError; cause instanceof Error; cause = cause.cause) {
        texts.push(cause.message, JSON.stringify(cause));
      }
      for (const text of texts) {
        expect(text, input).not.toContain('Sup3r');
        expect(text, input).not.toContain('Secret');
      }
    }
  });
});

describe('parseChallenges', () => {
  it('reads bearer parameters, quoted commas included, and several challenges', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.test/token",service="registry.test",scope="repository:a/b:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.test/token',
          service: 'registry.test',
          scope: 'repository:a/b:pull,push',
        },
      },
    ]);
    expect(parseChallenges('Basic realm="x", Bearer realm="y"').map((c) => c.scheme)).toEqual([
      'basic',
      'bearer',
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('tag list pages', () => {
  it('follows only next links of the same repository', () => {
    expect(nextTagsPage('</v2/team/app/tags/list?n=2&last=b>; rel="next"', 'team/app')).toBe(
      'tags/list?n=2&last=b',
    );
    expect(nextTagsPage('</v2/other/tags/list?n=2>; rel="next"', 'team/app')).toBeUndefined();
    expect(nextTagsPage(null, 'team/app')).toBeUndefined();
  });
});

describe('RegistryClient', () => {
  it('answers a bearer challenge anonymously, then reuses the token: the next HEAD is one request', async () => {
    const registry = new FakeRegistry({ mode: 'bearer' });
    const digest = image(registry, 'v1');
    const client = new RegistryClient({ fetch: registry.fetch });
    expect((await client.headManifest(repo, 'v1')).digest).toBe(digest);
    // 401, token, retry.
    expect(registry.requests.map((r) => new URL(r.url).host)).toEqual([
      'registry.test',
      'auth.test',
      'registry.test',
    ]);
    const token = new URL(registry.requests[1]?.url ?? '');
    expect(token.searchParams.get('service')).toBe('registry.test');
    expect(token.searchParams.get('scope')).toBe('repository:team/app:pull');
    expect(registry.requests[1]?.authorization).toBeUndefined();
    registry.reset();
    client.resetStats();
    await client.headManifest(repo, 'v1');
    expect(registry.count()).toBe(1);
    expect(client.stats().requests).toBe(1);
  });

  it('sends basic credentials to the token service and fetches a new token when the old one is refused', async () => {
    const registry = new FakeRegistry({ mode: 'bearer', username: 'u', password: 'p4ss' });
    image(registry, 'v1');
    const client = new RegistryClient({
      fetch: registry.fetch,
      credentials: { username: 'u', password: 'p4ss' },
    });
    await client.headManifest(repo, 'v1');
    expect(registry.requests[1]?.authorization).toBe(`Basic ${Buffer.from('u:p4ss').toString('base64')}`);
    registry.expireTokens();
    registry.reset();
    await client.headManifest(repo, 'v1');
    expect(registry.requests.map((r) => new URL(r.url).host)).toEqual([
      'registry.test',
      'auth.test',
      'registry.test',
    ]);
  });

  it('sends basic auth after the first challenge, and before it on every later request', async () => {
    const registry = new FakeRegistry({ mode: 'basic', username: 'u', password: 'p4ss' });
    image(registry, 'v1');
    const client = new RegistryClient({
      fetch: registry.fetch,
      credentials: { username: 'u', password: 'p4ss' },
    });
    await client.headManifest(repo, 'v1');
    expect(registry.count()).toBe(2);
    registry.reset();
    await client.headManifest(repo, 'v1');
    expect(registry.count()).toBe(1);
  });

  it('refused credentials are a typed error that shows neither the password nor its basic form', async () => {
    const registry = new FakeRegistry({ mode: 'basic', username: 'u', password: 'right' });
    image(registry, 'v1');
    const client = new RegistryClient({
      fetch: registry.fetch,
      credentials: { username: 'u', password: 'wr0ngpass' },
    });
    const error = await registryError(
      client.headManifest(repo, 'v1', { reference: 'registry.test/team/app:v1' }),
    );
    expect(error.code).toBe(RegistryErrorCodes.AuthFailed);
    expect(error.status).toBe(401);
    expect(error.message).toContain('registry.test/team/app:v1');
    expect(error.message).toContain('https://registry.test/v2/team/app/manifests/v1');
    expect(error.message).not.toContain('wr0ngpass');
    expect(error.message).not.toContain(Buffer.from('u:wr0ngpass').toString('base64'));
    // One challenge answered, then refused: no loop.
    expect(registry.count()).toBe(2);
  });

  it('a token service that refuses is an auth error naming it', async () => {
    const registry = new FakeRegistry({ mode: 'bearer', username: 'u', password: 'right' });
    image(registry, 'v1');
    const client = new RegistryClient({
      fetch: registry.fetch,
      credentials: { username: 'u', password: 'nope-secret' },
    });
    const error = await registryError(client.headManifest(repo, 'v1'));
    expect(error.code).toBe(RegistryErrorCodes.AuthFailed);
    expect(error.message).toContain('https://auth.test/token');
    expect(error.message).not.toContain('nope-secret');
  });

  it('a token service that is down or sheds load is unreachable, not an auth failure; its body is read up to a cap', async () => {
    const credentials = { username: 'u', password: 'tok-s3cret' };
    const challenge = [
      { scheme: 'bearer', params: { realm: 'https://auth.test/token', service: 'registry.test' } },
    ];
    const answer = (fetch: FetchLike): Promise<boolean> =>
      new RegistryAuth({ credentials, fetch, redactor: new Redactor([credentials.password]) }).answer(
        'registry.test',
        'repository:team/app:pull',
        challenge,
        undefined,
        { reference: 'registry.test/team/app:v1' },
      );
    for (const status of [500, 502, 503, 429]) {
      const error = await registryError(
        answer(async () => new Response('{"errors":[{"message":"try later"}]}', { status })),
      );
      expect(error.code, String(status)).toBe(RegistryErrorCodes.Unreachable);
      expect(error.status).toBe(status);
      expect(error.message).toContain('https://auth.test/token');
      expect(JSON.stringify(error)).not.toContain('tok-s3cret');
    }
    // Refused credentials stay an auth failure.
    const refused = await registryError(answer(async () => new Response('', { status: 401 })));
    expect(refused.code).toBe(RegistryErrorCodes.AuthFailed);

    // An endless body: reading stops just past the cap instead of buffering it all.
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const huge = await registryError(answer(async () => new Response(endless, { status: 200 })));
    expect(huge.code).toBe(RegistryErrorCodes.TooLarge);
    expect(pulled).toBeLessThan(1024 * 1024);
    const announced = await registryError(
      answer(
        async () =>
          new Response('{"token":"t"}', {
            status: 200,
            headers: { 'content-length': String(64 * 1024 * 1024) },
          }),
      ),
    );
    expect(announced.code).toBe(RegistryErrorCodes.TooLarge);
    // An ordinary answer still gives its token.
    expect(
      await answer(async () => new Response('{"token":"fresh","expires_in":300}', { status: 200 })),
    ).toBe(true);
  });

  it('verifies a manifest fetched by tag against the announced digest, and by digest against the digest', async () => {
    const registry = new FakeRegistry();
    const digest = image(registry, 'v1');
    const client = new RegistryClient({ fetch: registry.fetch });
    const fetched = await client.getManifest(repo, 'v1');
    expect(fetched.digest).toBe(digest);
    expect(fetched.manifest.kind).toBe('manifest');
    registry.corruptManifests.set(digest, Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [] })));
    const byTag = await registryError(client.getManifest(repo, 'v1'));
    expect(byTag.code).toBe(RegistryErrorCodes.DigestMismatch);
    const byDigest = await registryError(client.getManifest(repo, digest));
    expect(byDigest.code).toBe(RegistryErrorCodes.DigestMismatch);
    expect(byDigest.message).toContain(digest);
  });

  it('streams a blob through its digest and size checks', async () => {
    const registry = new FakeRegistry();
    const data = Buffer.from('0123456789');
    const digest = registry.putBlob(data);
    const client = new RegistryClient({ fetch: registry.fetch });
    expect((await client.getBlob(repo, digest, { maxBytes: 100 })).toString()).toBe('0123456789');
    expect(client.stats().bytes).toBe(10);
    const tooBig = await registryError(client.getBlob(repo, digest, { maxBytes: 5 }));
    expect(tooBig.code).toBe(RegistryErrorCodes.TooLarge);
    const announcedBig = await registryError(client.getBlob(repo, digest, { maxBytes: 5, expectedSize: 10 }));
    expect(announcedBig.code).toBe(RegistryErrorCodes.TooLarge);
    registry.corruptBlobs.set(digest, Buffer.from('0123456780'));
    const mismatch = await registryError(client.getBlob(repo, digest, { maxBytes: 100 }));
    expect(mismatch.code).toBe(RegistryErrorCodes.DigestMismatch);
  });

  it('follows a blob redirect to another host without credentials and keeps its query out of messages', async () => {
    const registry = new FakeRegistry({ mode: 'basic', username: 'u', password: 'p4ss' });
    const data = Buffer.from('blob');
    const digest = registry.putBlob(data);
    registry.redirectBlobsTo = 'storage.test';
    const client = new RegistryClient({
      fetch: registry.fetch,
      credentials: { username: 'u', password: 'p4ss' },
    });
    expect((await client.getBlob(repo, digest, { maxBytes: 100 })).toString()).toBe('blob');
    const storage = registry.requests.filter((r) => new URL(r.url).host === 'storage.test');
    expect(storage).toHaveLength(1);
    expect(storage[0]?.authorization).toBeUndefined();
  });

  it('lists tags across pages', async () => {
    const registry = new FakeRegistry();
    for (const tag of ['a', 'b', 'c', 'd', 'e']) image(registry, tag);
    registry.pageSize = 2;
    const client = new RegistryClient({ fetch: registry.fetch });
    expect(await client.listTags(repo)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(registry.count((r) => r.url.includes('/tags/list'))).toBe(3);
    const limited = new RegistryClient({ fetch: registry.fetch, maxTags: 3 });
    expect((await registryError(limited.listTags(repo))).code).toBe(RegistryErrorCodes.TooLarge);
  });

  it('a registry that is down is a typed error naming the URL, never the credentials', async () => {
    const registry = new FakeRegistry();
    registry.down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1 (u:s3cret)'), {
      code: 'ECONNREFUSED',
    });
    const client = new RegistryClient({
      fetch: registry.fetch,
      credentials: { username: 'u', password: 's3cret' },
    });
    const error = await registryError(client.headManifest(repo, 'v1'));
    expect(error.code).toBe(RegistryErrorCodes.Unreachable);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('https://registry.test/v2/team/app/manifests/v1');
    expect(error.message).not.toContain('s3cret');
  });

  it('a missing tag is not found; plain HTTP is used when asked', async () => {
    const registry = new FakeRegistry();
    const client = new RegistryClient({ fetch: registry.fetch, plainHttp: true });
    const error = await registryError(client.headManifest(repo, 'nope'));
    expect(error.code).toBe(RegistryErrorCodes.NotFound);
    expect(registry.requests[0]?.url).toBe('http://registry.test/v2/team/app/manifests/nope');
  });
});
