/**
 * Issue 11, items 2 and 3 on the real apiserver: a state ConfigMap deleted, nulled, emptied, of the
 * wrong shape or corrupt never makes the next shrinking commit orphan what left the set; a running
 * reconciler writes a deleted state object again; a state namespace that does not exist fails the
 * pass before any object is written; every state error names the object.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { type KubeObject, RawRenderer, Reconciler, type ReconcilerEvents } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { type KubeClient, KubernetesTarget, stateObjectName } from '@gitops-kit/k8s-target';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  configMap,
  getObject,
  kubeTarget,
  namespace,
  ownedConfigMapNames,
  uniqueName,
} from './kube-helpers.js';

const sources: MemorySource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.cleanup()));
});

function yamlOf(objects: readonly KubeObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

async function createNamespace(admin: KubeClient, name: string): Promise<void> {
  await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(name) });
}

/** A reconciler of ConfigMaps a, b, c in a fresh namespace, its state in another namespace. */
async function setUp() {
  const { target, admin } = await kubeTarget();
  const ns = uniqueName('app');
  const stateNs = uniqueName('state');
  await createNamespace(admin, ns);
  await createNamespace(admin, stateNs);
  const files = (names: string[]) => ({
    'app.yaml': yamlOf(names.map((n) => configMap(ns, n, { v: '1' }))),
  });
  const source = new MemorySource({ files: files(['a', 'b', 'c']) });
  sources.push(source);
  const store = target.stateStore({ namespace: stateNs });
  const options = { name: target.name, source, renderer: new RawRenderer(), target, stateStore: store };
  const statePath = `/api/v1/namespaces/${stateNs}/configmaps/${stateObjectName(target.name)}`;
  return { target, admin, ns, stateNs, source, store, options, files, statePath };
}

describe('lost or damaged state on the real apiserver', () => {
  const damage: [string, (admin: KubeClient, path: string) => Promise<void>, string][] = [
    [
      'deleted',
      (admin, path) => admin.request({ method: 'DELETE', path }).then(() => undefined),
      'StateMissing',
    ],
    ['set to null', (admin, path) => setStateText(admin, path, 'null'), 'StateMissing'],
    ['emptied', (admin, path) => setStateText(admin, path, '{"inventory":{"entries":[]}}'), 'StateEmpty'],
    ['of the wrong shape', (admin, path) => setStateText(admin, path, '{"entries":[]}'), 'StateUnreadable'],
    ['not JSON', (admin, path) => setStateText(admin, path, '{not json'), 'StateUnreadable'],
    ['without its key', (admin, path) => removeStateKey(admin, path), 'StateMissing'],
  ];

  for (const [how, hurt, reason] of damage) {
    it(`a state ${how} is recovered from the owned objects: the shrinking commit prunes, nothing is orphaned`, async () => {
      const s = await setUp();
      expect((await new Reconciler(s.options).reconcile()).outcome).toBe('succeeded');
      await hurt(s.admin, s.statePath);

      s.source.setFiles(s.files(['a'])).commit({ message: 'shrink' });
      const restarted = new Reconciler(s.options);
      const recovered: ReconcilerEvents['recovered'][] = [];
      restarted.on('recovered', (e) => recovered.push(e));
      const result = await restarted.reconcile();

      expect(result.outcome).toBe('succeeded');
      expect(await ownedConfigMapNames(s.admin, s.ns, s.target.name)).toEqual(['a']);
      expect(recovered.map((e) => e.reason)).toEqual([reason]);
      if (reason === 'StateUnreadable') {
        expect(recovered[0]?.message).toContain(`ConfigMap ${s.stateNs}/${stateObjectName(s.target.name)}`);
      }
      expect((await storedState(s.admin, s.statePath)).inventory.entries).toHaveLength(1);
    });
  }

  it('a running reconciler writes its deleted state object again on the next pass', async () => {
    const s = await setUp();
    const reconciler = new Reconciler(s.options);
    await reconciler.reconcile();
    await s.admin.request({ method: 'DELETE', path: s.statePath });

    expect((await reconciler.reconcile()).outcome).toBe('succeeded');
    expect((await storedState(s.admin, s.statePath)).inventory.entries).toHaveLength(3);
  });

  it('a state namespace that does not exist fails the pass before any object is written, naming the object', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('app');
    await createNamespace(admin, ns);
    const source = new MemorySource({ files: { 'app.yaml': yamlOf([configMap(ns, 'a', { v: '1' })]) } });
    sources.push(source);
    const missing = uniqueName('missing');
    const store = target.stateStore({ namespace: missing });
    const result = await new Reconciler({
      name: target.name,
      source,
      renderer: new RawRenderer(),
      target,
      stateStore: store,
    }).reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('RECONCILE_STATE_SAVE_FAILED');
    expect(result.error?.message).toContain(`ConfigMap ${missing}/${stateObjectName(target.name)}`);
    expect(await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/a`)).toBeUndefined();
  });

  it('a target whose requests hang fails within its request timeout, with a typed error', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kc = new KubeConfig();
      const port = (server.address() as AddressInfo).port;
      kc.loadFromOptions({
        clusters: [{ name: 'hung', server: `http://127.0.0.1:${port}` }],
        users: [{ name: 'u' }],
        contexts: [{ name: 'c', cluster: 'hung', user: 'u' }],
        currentContext: 'c',
      });
      const target = new KubernetesTarget({ name: 'hung', kubeConfig: kc, requestTimeoutMs: 500 });
      const started = Date.now();
      const plan = target.plan([], { entries: [] }, { signal: AbortSignal.timeout(30_000) });
      const listed = target.listOwned({ signal: AbortSignal.timeout(30_000) });
      await expect(listed).rejects.toMatchObject({ code: 'APPLY_READ_FAILED' });
      await plan.catch(() => undefined);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});

/** The state JSON stored at `path`. */
async function storedState(admin: KubeClient, path: string): Promise<{ inventory: { entries: unknown[] } }> {
  const object = (await getObject(admin, path)) as { data?: Record<string, string> } | undefined;
  return JSON.parse(object?.data?.['state.json'] ?? 'null');
}

async function setStateText(admin: KubeClient, path: string, text: string): Promise<void> {
  await admin.request({
    method: 'PATCH',
    path,
    body: { data: { 'state.json': text } },
    contentType: 'application/merge-patch+json',
  });
}

async function removeStateKey(admin: KubeClient, path: string): Promise<void> {
  await admin.request({
    method: 'PATCH',
    path,
    body: { data: { 'state.json': null } },
    contentType: 'application/merge-patch+json',
  });
}
