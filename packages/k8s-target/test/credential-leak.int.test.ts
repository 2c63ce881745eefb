/**
 * Issue 11's credential-leak test for the Kubernetes path: a set with a Secret is reconciled on the
 * real apiserver through create, an update of the value, a hand edit (drift), a refused change and
 * a prune; every event payload, every status, every result and error (own properties and cause
 * chains, non-enumerable ones included) and the stored state are searched for the Secret's values,
 * raw and in base64. None may hold them. (The Git and S3 credentials are searched the same way by
 * those packages' tests.)
 */
import {
  findSecrets,
  type KubeObject,
  RawRenderer,
  RECONCILER_EVENT_NAMES,
  type ReconcileResult,
  Reconciler,
} from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { stateObjectName } from '@gitops-kit/k8s-target';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { configMap, getObject, kubeTarget, namespace, uniqueName } from './kube-helpers.js';

const FIRST = 'first-db-password-7f3a91';
const SECOND = 'second-db-password-c04d22';
const sources: MemorySource[] = [];
afterAll(async () => {
  await Promise.all(sources.map((s) => s.cleanup()));
});

function secret(ns: string, value: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: ns },
    type: 'Opaque',
    stringData: { password: value },
    ...extra,
  };
}

const yamlOf = (objects: readonly KubeObject[]): string => objects.map((o) => stringify(o)).join('---\n');

describe('no Secret value leaves the target (real apiserver)', () => {
  it('events, statuses, results, errors and the stored state never hold a Secret value', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('leak');
    const stateNs = uniqueName('leakstate');
    await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(stateNs) });
    const source = new MemorySource({ files: { 'app.yaml': yamlOf([namespace(ns), secret(ns, FIRST)]) } });
    sources.push(source);
    const reconciler = new Reconciler({
      name: target.name,
      source,
      renderer: new RawRenderer(),
      target,
      stateStore: target.stateStore({ namespace: stateNs }),
      onListenerError: () => {},
    });
    const seen: unknown[] = [];
    for (const name of RECONCILER_EVENT_NAMES)
      reconciler.on(name, (payload: unknown) => seen.push({ event: name, payload }));
    const results: ReconcileResult[] = [];
    const pass = async (): Promise<ReconcileResult> => {
      const result = await reconciler.reconcile();
      results.push(result);
      return result;
    };

    expect((await pass()).outcome).toBe('succeeded');
    source
      .setFiles({ 'app.yaml': yamlOf([namespace(ns), secret(ns, SECOND)]) })
      .commit({ message: 'rotate' });
    expect((await pass()).outcome).toBe('succeeded');
    // A hand edit puts the first value back: drift, reverted by the next pass.
    await admin.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/secrets/db`,
      body: { data: { password: Buffer.from(FIRST).toString('base64') } },
      contentType: 'application/merge-patch+json',
    });
    expect((await pass()).outcome).toBe('succeeded');
    // A refused change (a Secret's type is immutable): the apiserver's error quotes the object.
    source
      .setFiles({
        'app.yaml': yamlOf([namespace(ns), secret(ns, FIRST, { type: 'kubernetes.io/basic-auth' })]),
      })
      .commit({ message: 'bad type' });
    const refused = await pass();
    expect(refused.outcome).toBe('failed');
    // The Secret leaves the set: pruned.
    source.setFiles({ 'app.yaml': yamlOf([namespace(ns), configMap(ns, 'plain', { a: '1' })]) }).commit();
    expect((await pass()).outcome).toBe('succeeded');
    expect(await getObject(admin, `/api/v1/namespaces/${ns}/secrets/db`)).toBeUndefined();

    const stored = await getObject(
      admin,
      `/api/v1/namespaces/${stateNs}/configmaps/${stateObjectName(target.name)}`,
    );
    const leaks = findSecrets({ seen, results, status: reconciler.status, stored }, [FIRST, SECOND]);
    expect(leaks).toEqual([]);
    // The search itself works on what the cluster holds.
    expect(seen.length).toBeGreaterThan(20);
  });
});
