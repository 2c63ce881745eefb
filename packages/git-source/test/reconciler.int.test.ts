import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookHandler, RawRenderer, Reconciler, type ReconcilerStatus } from '@gitops-kit/core';
import { hmacSha256 } from '@gitops-kit/core/internal';
import { FakeCluster } from '@gitops-kit/core/testing';
import { GitSource } from '@gitops-kit/git-source';
import { testenv } from '@gitops-kit/testenv';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir, WorkClone } from './support/helpers.js';

const configMap = (name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: shop\ndata:\n  value: "${value}"\n`;

afterAll(removeTempDirs);

describe('Reconciler with a GitSource, end to end into the FakeCluster', () => {
  it('applies a branch, then applies and prunes a pushed change triggered by a signed webhook', async () => {
    const git = await testenv.git();
    const { url } = await git.createRepo(`gs-e2e-${process.pid}`);
    const work = await WorkClone.create(url, git.username, git.password);
    await work.write('deploy/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n');
    await work.write('deploy/web.yaml', configMap('web', 'one'));
    await work.write('deploy/old.yaml', configMap('old', 'x'));
    await work.write('README.md', 'not a manifest, outside the path\n');
    const first = await work.commit('first');
    await work.push('main');

    const source = new GitSource({
      url,
      path: 'deploy',
      cacheDir: await tempDir('e2e-cache'),
      auth: { bearerToken: git.token },
    });
    const cluster = new FakeCluster();
    const reconciler = new Reconciler({
      name: 'shop',
      source,
      renderer: new RawRenderer(),
      target: cluster,
      prune: true,
    });

    const result = await reconciler.reconcile();
    expect(result.outcome).toBe('succeeded');
    expect(reconciler.status.lastAppliedRevision).toBe(`main@sha1:${first}`);
    const web = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'web' };
    const old = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'old' };
    expect(cluster.get(web)?.data).toEqual({ value: 'one' });
    expect(cluster.get(old)).toBeDefined();

    await work.write('deploy/web.yaml', configMap('web', 'two'));
    await work.git('rm', '--quiet', 'deploy/old.yaml');
    const second = await work.commit('second');
    await work.push('main');

    const applied = new Promise<ReconcilerStatus>((resolve) => {
      reconciler.on('status', ({ status }) => {
        if (status.lastAppliedRevision === `main@sha1:${second}`) resolve(status);
      });
    });
    const secret = 'e2e-webhook-secret';
    const handler = createWebhookHandler({ targets: [reconciler], github: { secret } });
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const push = (ref: string): string =>
        JSON.stringify({ ref, repository: { clone_url: url, html_url: url.replace(/\.git$/, '') } });
      // A bad signature triggers nothing; another branch triggers nothing.
      const forged = await fetch(hook, {
        method: 'POST',
        headers: {
          'x-github-event': 'push',
          'x-hub-signature-256': hmacSha256('wrong', Buffer.from(push('refs/heads/main'))),
        },
        body: push('refs/heads/main'),
      });
      expect(forged.status).toBe(401);
      const otherBody = push('refs/heads/other');
      const other = await fetch(hook, {
        method: 'POST',
        headers: {
          'x-github-event': 'push',
          'x-hub-signature-256': hmacSha256(secret, Buffer.from(otherBody)),
        },
        body: otherBody,
      });
      expect(await other.json()).toEqual({ triggered: [] });
      expect(reconciler.status.lastAppliedRevision).toBe(`main@sha1:${first}`);

      const body = push('refs/heads/main');
      const res = await fetch(hook, {
        method: 'POST',
        headers: { 'x-github-event': 'push', 'x-hub-signature-256': hmacSha256(secret, Buffer.from(body)) },
        body,
      });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ triggered: ['shop'] });
      const status = await applied;
      expect(status.lastAppliedRevision).toBe(`main@sha1:${second}`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(cluster.get(web)?.data).toEqual({ value: 'two' });
    expect(cluster.get(old)).toBeUndefined();
    expect(reconciler.status.history[0]).toMatchObject({
      author: 'Test Author <author@example.com>',
      message: 'second',
    });
  });
});
