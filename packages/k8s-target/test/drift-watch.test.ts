import type { KubeObject } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import type { WatchStream } from '../src/watch-stream.js';
import { configMap, scriptedTarget, sync } from './support/objects.js';

/** What the drift watch holds itself responsible for, over a scripted apiserver. */

/** A stream that stays open, silent, until the watch stops. */
const silent: WatchStream = (_path, _query, _onEvent, signal) =>
  new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

const call = () => ({ signal: AbortSignal.timeout(10_000) });
const path = (name: string) => `/api/v1/namespaces/shop/configmaps/${name}`;

function hook(name: string): KubeObject {
  const object = configMap('shop', name, { run: 'once' });
  object.metadata.annotations = {
    'helm.sh/hook': 'pre-upgrade',
    'helm.sh/hook-delete-policy': 'before-hook-creation',
  };
  return object;
}

describe('DriftWatch', () => {
  it('never brings back a hook deleted after it ran, nor an object that left the set', async () => {
    const { server, target } = scriptedTarget({ watchStream: silent });
    const stop = target.watchDrift(() => {});
    try {
      const first = await sync(target, [
        configMap('shop', 'kept'),
        configMap('shop', 'dropped'),
        hook('migrate'),
      ]);
      for (const name of ['kept', 'dropped', 'migrate']) server.remove(path(name));
      const refs = first.plan.objects.map((o) => o.ref);

      // The hook (deleted by its policy or a Job's TTL) is never re-created by the watch.
      const repaired = await target.repair(refs, call());
      expect(repaired.repaired.map((r) => r.name).sort()).toEqual(['dropped', 'kept']);

      // `dropped` leaves the set; with prune off it is released, and a watch leaves it alone.
      const second = await sync(target, [configMap('shop', 'kept')], first.inventory);
      expect(second.plan.prune.map((e) => e.ref.name)).toContain('dropped');
      server.remove(path('dropped'));
      const after = await target.repair(refs, call());
      expect(after.repaired.map((r) => r.name)).toEqual([]);
      expect(server.get(path('dropped'))).toBeUndefined();
    } finally {
      stop();
      target.close();
    }
  });

  it('an apply that fails part-way makes only what it wrote the new desired state', async () => {
    const { server, target } = scriptedTarget({ watchStream: silent });
    const stop = target.watchDrift(() => {});
    try {
      const first = await sync(target, [
        configMap('shop', 'a', { v: '1' }),
        configMap('shop', 'b', { v: '1' }),
      ]);
      server.fail((r) => !r.dryRun && r.method === 'PATCH' && r.path.endsWith('/configmaps/b'), {
        status: 500,
        reason: 'InternalError',
        message: 'etcd down',
      });
      const error = await sync(
        target,
        [configMap('shop', 'a', { v: '2' }), configMap('shop', 'b', { v: '2' })],
        first.inventory,
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'APPLY_FAILED' });
      for (const name of ['a', 'b']) server.remove(path(name));
      const repaired = await target.repair(
        first.plan.objects.map((o) => o.ref),
        call(),
      );
      // `a` was written at v2 and comes back as v2; `b`'s live state is unknown: left to the next pass.
      expect(repaired.repaired.map((r) => r.name)).toEqual(['a']);
      expect(server.get(path('a'))?.data).toEqual({ v: '2' });
      expect(server.get(path('b'))).toBeUndefined();
    } finally {
      stop();
      target.close();
    }
  });

  it('watches namespace by namespace once a watch across namespaces is refused, as the plan lists', async () => {
    const paths = new Set<string>();
    const recording: WatchStream = (watchPath, query, onEvent, signal) => {
      paths.add(watchPath);
      return silent(watchPath, query, onEvent, signal);
    };
    const { server, target } = scriptedTarget({ watchStream: recording });
    server.fail((r) => r.method === 'GET' && r.path === '/api/v1/configmaps', {
      status: 403,
      reason: 'Forbidden',
      message:
        'configmaps is forbidden: User "tenant" cannot list resource "configmaps" at the cluster scope',
    });
    const stop = target.watchDrift(() => {});
    try {
      await sync(target, [configMap('team-a', 'x'), configMap('team-b', 'y')]);
      for (let i = 0; i < 100 && paths.size < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect([...paths].sort()).toEqual([
        '/api/v1/namespaces/team-a/configmaps',
        '/api/v1/namespaces/team-b/configmaps',
      ]);
    } finally {
      stop();
      target.close();
    }
  });
});
