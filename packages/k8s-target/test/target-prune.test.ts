import type { InventoryEntry, KubeObject } from '@gitops-kit/core';
import { OWNER_ANNOTATION, OWNER_LABEL, PRUNE_ANNOTATION } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import {
  call,
  clusterRole,
  configMap,
  corePath,
  namespace,
  scriptedTarget,
  storageClass,
} from './support/objects.js';

/** An object carrying the marks of owner `shop`, plus any extra labels and annotations. */
function owned(object: KubeObject, annotations: Record<string, string> = {}): KubeObject {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      labels: { [OWNER_LABEL]: 'shop' },
      annotations: { [OWNER_ANNOTATION]: 'shop', ...annotations },
    },
  };
}

const entry = (object: KubeObject): InventoryEntry => ({
  ref: {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
  },
  digest: 'sha256:x',
});

describe('KubernetesTarget prune', () => {
  it('deletes owned objects in reverse tier order, each with a uid precondition', async () => {
    const { server, target } = scriptedTarget();
    const ns = server.seed('/api/v1/namespaces/shop', owned(namespace('shop')));
    const cm = server.seed(corePath('configmaps', 'shop', 'cfg'), owned(configMap('shop', 'cfg')));
    server.seed('/apis/storage.k8s.io/v1/storageclasses/fast', owned(storageClass('fast')));
    server.seed('/apis/rbac.authorization.k8s.io/v1/clusterroles/reader', owned(clusterRole('reader')));
    const result = await target.prune(
      [namespace('shop'), clusterRole('reader'), storageClass('fast'), configMap('shop', 'cfg')].map(entry),
      call(),
    );
    expect(server.writes()).toEqual([
      'DELETE /api/v1/namespaces/shop/configmaps/cfg',
      'DELETE /apis/storage.k8s.io/v1/storageclasses/fast',
      'DELETE /api/v1/namespaces/shop',
      'DELETE /apis/rbac.authorization.k8s.io/v1/clusterroles/reader',
    ]);
    expect(result.deleted.map((r) => r.name).sort()).toEqual(['cfg', 'fast', 'reader', 'shop']);
    expect(result.skipped).toEqual([]);
    expect(result.failed).toEqual([]);
    const deletes = server.requests.filter((r) => r.method === 'DELETE');
    expect(deletes[0]?.body).toMatchObject({
      kind: 'DeleteOptions',
      propagationPolicy: 'Background',
      preconditions: { uid: cm.metadata.uid },
    });
    expect(deletes[2]?.body).toMatchObject({ preconditions: { uid: ns.metadata.uid } });
  });

  it('uses the configured propagation policy', async () => {
    const { server, target } = scriptedTarget({ propagationPolicy: 'Foreground' });
    server.seed(corePath('configmaps', 'shop', 'cfg'), owned(configMap('shop', 'cfg')));
    await target.prune([entry(configMap('shop', 'cfg'))], call());
    expect(server.requests.find((r) => r.method === 'DELETE')?.body).toMatchObject({
      propagationPolicy: 'Foreground',
    });
  });

  it('leaves alone objects without our mark or with another owner name, and says why', async () => {
    const { server, target } = scriptedTarget();
    server.seed(corePath('configmaps', 'shop', 'theirs'), configMap('shop', 'theirs'));
    server.seed(
      corePath('configmaps', 'shop', 'other'),
      owned(configMap('shop', 'other'), { [OWNER_ANNOTATION]: 'shop2' }),
    );
    const result = await target.prune(
      [entry(configMap('shop', 'theirs')), entry(configMap('shop', 'other'))],
      call(),
    );
    expect(server.writes()).toEqual([]);
    expect(result.deleted).toEqual([]);
    expect(result.skipped.map((s) => [s.ref.name, s.reason]).sort()).toEqual([
      ['other', 'not owned by shop (no ownership mark)'],
      ['theirs', 'not owned by shop (no ownership mark)'],
    ]);
  });

  it('keeps objects annotated gitops-kit.dev/prune: disabled', async () => {
    const { server, target } = scriptedTarget();
    server.seed(
      corePath('configmaps', 'shop', 'kept'),
      owned(configMap('shop', 'kept'), { [PRUNE_ANNOTATION]: 'Disabled' }),
    );
    const result = await target.prune([entry(configMap('shop', 'kept'))], call());
    expect(server.writes()).toEqual([]);
    expect(result.skipped).toEqual([
      {
        ref: entry(configMap('shop', 'kept')).ref,
        reason: 'kept by annotation gitops-kit.dev/prune: disabled',
      },
    ]);
  });

  it('keeps objects marked helm.sh/resource-policy: keep or Argo CD Prune=false, and one whose annotation is malformed', async () => {
    const { server, target } = scriptedTarget();
    server.seed(
      corePath('configmaps', 'shop', 'helm'),
      owned(configMap('shop', 'helm'), { 'helm.sh/resource-policy': 'keep' }),
    );
    server.seed(
      corePath('configmaps', 'shop', 'argo'),
      owned(configMap('shop', 'argo'), { 'argocd.argoproj.io/sync-options': 'Prune=false' }),
    );
    server.seed(
      corePath('configmaps', 'shop', 'odd'),
      owned(configMap('shop', 'odd'), { 'argocd.argoproj.io/sync-options': 'Prune=perhaps' }),
    );
    const result = await target.prune(
      [entry(configMap('shop', 'helm')), entry(configMap('shop', 'argo')), entry(configMap('shop', 'odd'))],
      call(),
    );
    expect(server.writes()).toEqual([]);
    expect(result.skipped.map((s) => [s.ref.name, s.reason.split(' (')[0]])).toEqual([
      ['helm', 'kept by helm.sh/resource-policy: keep'],
      ['argo', 'kept by argocd.argoproj.io/sync-options: Prune=false'],
      ['odd', 'kept: its lifecycle annotations cannot be read'],
    ]);
  });

  it('does not delete an object replaced since it was read (uid precondition refused)', async () => {
    const { server, target } = scriptedTarget();
    const path = corePath('configmaps', 'shop', 'cfg');
    server.seed(path, owned(configMap('shop', 'cfg')));
    // Between our read and our delete someone deletes it and creates another with the same name.
    server.script(
      (r) => r.method === 'GET' && r.path === path,
      () => {
        const read = server.get(path);
        server.remove(path);
        server.seed(path, owned(configMap('shop', 'cfg')));
        return read;
      },
      1,
    );
    const result = await target.prune([entry(configMap('shop', 'cfg'))], call());
    expect(result.deleted).toEqual([]);
    expect(result.skipped.map((s) => s.reason)).toEqual(['replaced by another object since it was read']);
    expect(server.get(path)).toBeDefined();
  });

  it('counts objects already gone as skipped, reports failed deletes, and leaves out-of-bounds objects alone', async () => {
    const { server, target } = scriptedTarget({ restrictions: { allowedNamespaces: ['shop'] } });
    server.seed(corePath('configmaps', 'shop', 'locked'), owned(configMap('shop', 'locked')));
    server.seed(corePath('configmaps', 'other', 'foreign'), owned(configMap('other', 'foreign')));
    server.fail((r) => r.method === 'DELETE' && r.path.endsWith('/locked'), {
      status: 403,
      reason: 'Forbidden',
      message: 'configmaps "locked" is forbidden',
    });
    const result = await target.prune(
      [
        entry(configMap('shop', 'gone')),
        entry(configMap('shop', 'locked')),
        entry(configMap('other', 'foreign')),
      ],
      call(),
    );
    expect(result.deleted).toEqual([]);
    const skipped = result.skipped.map((s) => [s.ref.name, s.reason]).sort();
    expect(skipped).toEqual([
      ['foreign', 'refused by restrictions: namespace "other" is not allowed (allowed namespaces: shop)'],
      ['gone', 'not found'],
    ]);
    expect(result.failed.map((f) => [f.entry.ref.name, f.message])).toEqual([
      ['locked', 'Forbidden: configmaps "locked" is forbidden'],
    ]);
    expect(server.requests.some((r) => r.path.includes('/namespaces/other/'))).toBe(false);
  });

  it('skips kinds no longer served', async () => {
    const { server, target } = scriptedTarget();
    const result = await target.prune(
      [entry({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'shop' } })],
      call(),
    );
    expect(result.skipped.map((s) => s.reason)).toEqual(['kind Widget is no longer served']);
    expect(server.writes()).toEqual([]);
  });
});
