import { type KubeObject, RawRenderer, Reconciler, type ReconcilerOptions } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { type ApiRequestRecord, KubeClient, KubernetesTarget } from '@gitops-kit/k8s-target';
import { startTestenv, testenv } from '@gitops-kit/testenv';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { configMap, deployment, namespace, uniqueName } from './kube-helpers.js';

/**
 * Kubernetes Events of reconcile outcomes on the living cluster (kwok runs the Pods; an image
 * tagged `does-not-exist` never starts, so its Deployment fails its progress deadline).
 */

interface EventObject {
  readonly reason: string;
  readonly type: string;
  readonly action: string;
  readonly note: string;
  readonly regarding: { kind: string; name: string; namespace: string; uid?: string };
  readonly series?: { count: number };
  readonly reportingController: string;
}

const sources: MemorySource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.cleanup()));
});

function yamlOf(objects: readonly KubeObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

/** A Reconciler of raw YAML whose state is kept by the target's store in `stateNs`. */
function rawReconciler(
  name: string,
  source: MemorySource,
  target: KubernetesTarget,
  stateNs: string,
  options: Partial<ReconcilerOptions> = {},
): Reconciler {
  const stateStore = target.stateStore({ namespace: stateNs });
  return new Reconciler({ name, source, renderer: new RawRenderer(), target, stateStore, ...options });
}

const SECRET_VALUE = 'hunter2-do-not-print';

describe('KubernetesTarget: Kubernetes Events of outcomes (living cluster)', () => {
  it('writes applied, drift reverted, pruned, health failed and rolled back events regarding the state object', async () => {
    // A living cluster of its own (see the reconciler test's rollback): the shared one, late in a
    // full run, was seen keeping the rolled-back Deployment's old condition past the health timeout.
    const env = await startTestenv({ kube: true, s3: false, git: false, tools: false });
    onTestFinished(() => env.stop());
    const kube = env.kube;
    if (!kube) throw new Error('testenv started no cluster');
    const admin = KubeClient.fromKubeConfig(kube.kubeConfig());
    const ns = uniqueName('events');
    const stateNs = uniqueName('events-state');
    await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(stateNs) });
    const name = uniqueName('app');
    const target = new KubernetesTarget({ name, kubeConfig: kube.kubeConfig() });
    const requests: ApiRequestRecord[] = [];
    target.onApiRequest((r) => requests.push(r));
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: ns },
      stringData: { password: SECRET_VALUE },
    };
    // Only the bad image gets a 3 s progress deadline: the good revision, and the rollback to it,
    // keep the default, so a busy 2-core machine never fails them (CI once did at 3 s).
    const web = (image: string): KubeObject => {
      const d = deployment(ns, 'web', 1, image);
      if (image.endsWith(':does-not-exist')) (d.spec as Record<string, unknown>).progressDeadlineSeconds = 3;
      return d;
    };
    const source = new MemorySource({
      files: {
        'all.yaml': yamlOf([
          namespace(ns),
          web('nginx:1.27'),
          configMap(ns, 'settings', { a: '1' }),
          configMap(ns, 'extra'),
          secret,
        ]),
      },
    });
    sources.push(source);
    const reconciler = rawReconciler(name, source, target, stateNs, {
      wait: true,
      rollback: true,
      healthPollInterval: 250,
      healthTimeout: 25_000,
      timeout: 90_000,
    });
    const good = await reconciler.reconcile();
    expect(good.outcome, good.message).toBe('succeeded');

    // Drift, twice the same: one DriftReverted event whose series counts 2.
    for (let i = 0; i < 2; i++) {
      await admin.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns}/configmaps/settings`,
        contentType: 'application/merge-patch+json',
        body: { data: { a: 'changed by hand' } },
      });
      const repaired = await reconciler.reconcile();
      expect(repaired.outcome, repaired.message).toBe('succeeded');
    }

    // Prune and a bad image in one revision: applied, pruned, health failed, rolled back.
    source
      .setFile(
        'all.yaml',
        yamlOf([namespace(ns), web('nginx:does-not-exist'), configMap(ns, 'settings', { a: '1' }), secret]),
      )
      .commit();
    const bad = await reconciler.reconcile();
    expect(bad.outcome, bad.message).toBe('rolledBack');

    // A failed pass: the event and the history entry carry its cause, with the file.
    source.setFile('broken.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: [\n').commit();
    const failed = await reconciler.reconcile();
    expect(failed.outcome).toBe('failed');
    expect(reconciler.status.history[0]?.cause?.location?.file).toBe('broken.yaml');
    await target.events?.flush();

    const list = await admin.request<{ items: EventObject[] }>({
      method: 'GET',
      path: `/apis/events.k8s.io/v1/namespaces/${stateNs}/events`,
    });
    const ours = list.items.filter((e) => e.regarding.name === `gitops-kit-${name}`);
    const byReason = (reason: string): EventObject[] => ours.filter((e) => e.reason === reason);
    const state = await admin.request<KubeObject>({
      method: 'GET',
      path: `/api/v1/namespaces/${stateNs}/configmaps/gitops-kit-${name}`,
    });
    expect(ours.every((e) => e.regarding.kind === 'ConfigMap' && e.regarding.namespace === stateNs)).toBe(
      true,
    );
    expect(ours.every((e) => e.regarding.uid === state.metadata.uid)).toBe(true);
    expect(ours.every((e) => e.reportingController === 'gitops-kit.dev/reconciler')).toBe(true);

    const applied = byReason('Applied');
    expect(
      applied.some((e) => e.type === 'Normal' && e.note.includes(`Applied revision ${good.revision}`)),
    ).toBe(true);
    expect(applied.find((e) => e.note.includes(String(good.revision)))?.note).toMatch(/\d+ created/);
    const drift = byReason('DriftReverted');
    expect(drift).toHaveLength(1);
    expect(drift[0]?.type).toBe('Warning');
    expect(drift[0]?.note).toContain(`v1 ConfigMap ${ns}/settings`);
    expect(drift[0]?.series?.count).toBe(2);
    expect(byReason('Pruned')[0]?.note).toContain(`v1 ConfigMap ${ns}/extra`);
    expect(byReason('HealthCheckFailed')[0]?.note).toContain(`apps/v1 Deployment ${ns}/web`);
    const rolled = byReason('RolledBack')[0];
    expect(rolled?.note).toContain(`rolled back to ${good.revision}`);
    expect(rolled?.note).toContain(String(bad.revision));
    const failure = byReason('ReconciliationFailed')[0];
    expect(failure?.type).toBe('Warning');
    expect(failure?.note).toContain(String(failed.error?.code));
    expect(failure?.note).toContain('broken.yaml');
    expect(JSON.stringify(ours)).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(ours)).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));

    // The request hook saw the target's traffic by verb and code.
    expect(requests.some((r) => r.verb === 'apply' && r.code === 200)).toBe(true);
    expect(requests.some((r) => r.verb === 'list' && r.code === 200)).toBe(true);
    expect(requests.some((r) => r.verb === 'create' && r.code === 201)).toBe(true); // events
  });

  it('writes no events with events: false', async () => {
    const kube = await testenv.kube();
    const admin = KubeClient.fromKubeConfig(kube.kubeConfig());
    const ns = uniqueName('noevents');
    await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(ns) });
    const name = uniqueName('quiet');
    const target = new KubernetesTarget({ name, kubeConfig: kube.kubeConfig(), events: false });
    const source = new MemorySource({ files: { 'cm.yaml': yamlOf([configMap(ns, 'one')]) } });
    sources.push(source);
    const reconciler = rawReconciler(name, source, target, ns);
    expect((await reconciler.reconcile()).outcome).toBe('succeeded');
    const list = await admin.request<{ items: EventObject[] }>({
      method: 'GET',
      path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
    });
    expect(list.items.filter((e) => e.regarding.name === `gitops-kit-${name}`)).toEqual([]);
  });
});
