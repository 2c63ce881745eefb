import { emptyInventory, type HealthReport, type KubeObject, type ObjectRef } from '@gitops-kit/core';
import type { KubeClient, KubernetesTarget } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { describe, expect, it } from 'vitest';
import { configMap, deployment, getObject, kubeTarget, namespace, sync, uniqueName } from './kube-helpers.js';

/**
 * Health by kstatus rules, read from what the living cluster's controllers really write: the
 * deployment, replicaset, statefulset, daemonset, job and persistentvolume-binder controllers of
 * kube-controller-manager, kube-scheduler, and kwok playing the kubelets (its rules are in
 * testenv/kwok/stages.yaml; an image tagged `does-not-exist` fails like a bad pull).
 */

const signal = (): AbortSignal => AbortSignal.timeout(60_000);

type Status = HealthReport['status'];

/** Reads health until the whole report is `want`; returns every report status seen, in order. */
async function healthUntil(
  target: KubernetesTarget,
  refs: readonly ObjectRef[],
  want: Status,
  timeoutMs = 30_000,
): Promise<{ seen: Status[]; report: HealthReport }> {
  const seen: Status[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await target.health(refs, { signal: signal() });
    if (seen.at(-1) !== report.status) seen.push(report.status);
    if (report.status === want) return { seen, report };
    if (Date.now() > deadline) {
      throw new Error(`health never became ${want}: ${JSON.stringify(report.objects)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const refOf = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
});

function withSpec(object: KubeObject, spec: Record<string, unknown>): KubeObject {
  return { ...object, spec: { ...(object.spec as Record<string, unknown>), ...spec } };
}

function setImage(object: KubeObject, image: string): KubeObject {
  const copy = structuredClone(object);
  const containers = (copy.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template
    .spec.containers;
  for (const c of containers) c.image = image;
  return copy;
}

/** A StatefulSet without volume claim templates (no provisioner runs here), and its headless Service. */
function statefulSet(ns: string, name: string, replicas: number): KubeObject[] {
  const base = deployment(ns, name, replicas);
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { clusterIP: 'None', selector: { app: name }, ports: [{ port: 80 }] },
    },
    { ...withSpec(base, { serviceName: name }), kind: 'StatefulSet' },
  ];
}

function daemonSet(ns: string, name: string): KubeObject {
  const { replicas: _replicas, ...spec } = deployment(ns, name).spec as Record<string, unknown>;
  return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: ns }, spec };
}

function job(ns: string, name: string, image: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: {
      backoffLimit: 0,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image }] } },
      ...spec,
    },
  };
}

async function replicaSetsOf(admin: KubeClient, ns: string): Promise<KubeObject[]> {
  const list = await admin.request<{ items: KubeObject[] }>({
    method: 'GET',
    path: `/apis/apps/v1/namespaces/${ns}/replicasets`,
  });
  return list.items;
}

describe('health on the living cluster (real controllers, scheduler and kwok nodes)', () => {
  it('a Deployment: InProgress while it rolls out, Current once its Pods are Ready, Failed past its progress deadline', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('health-deploy');
    // The good rollout gets the default deadline (on two busy cores 3 s may not be enough); the
    // bad image below gets 3 s.
    const web = deployment(ns, 'web', 2);
    const settings = configMap(ns, 'c', { a: '1' });
    const first = await sync(target, [namespace(ns), web, settings], emptyInventory);
    const missing = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'absent' };
    const early = await target.health([refOf(web), refOf(settings), missing], { signal: signal() });
    // The controllers may already have made the Deployment available when this first reading
    // comes (it was seen on a quiet machine); InProgress before Failed is proven below.
    expect(['InProgress', 'Current']).toContain(early.objects[0]?.status);
    expect(early.objects.slice(1).map((o) => o.status)).toEqual(['Current', 'NotFound']);
    await healthUntil(target, [refOf(web), refOf(settings)], 'Current');
    const [rs] = await replicaSetsOf(admin, ns);
    expect(rs?.status).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 2 });

    // A new image that cannot be pulled: the new ReplicaSet's Pod never gets Ready, and the
    // deployment controller gives up after progressDeadlineSeconds.
    const bad = withSpec(setImage(web, 'nginx:does-not-exist'), { progressDeadlineSeconds: 3 });
    await sync(target, [namespace(ns), bad, settings], first.inventory);
    const failed = await healthUntil(target, [refOf(web)], 'Failed');
    expect(failed.seen[0]).toBe('InProgress');
    expect(failed.report.objects[0]?.message).toMatch(/ProgressDeadlineExceeded|progress deadline/i);
    const live = await getObject(admin, `/apis/apps/v1/namespaces/${ns}/deployments/web`);
    const conditions = (live?.status ?? {}) as { conditions?: Array<{ type: string; reason: string }> };
    const progressing = conditions.conditions?.find((c) => c.type === 'Progressing');
    expect(progressing?.reason).toBe('ProgressDeadlineExceeded');
  });

  it('a StatefulSet: Current when every replica is Ready at the update revision, InProgress during a rolling update', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('health-sts');
    const [service, sts] = statefulSet(ns, 'db', 2) as [KubeObject, KubeObject];
    const refs = [refOf(service), refOf(sts)];
    const first = await sync(target, [namespace(ns), service, sts], emptyInventory);
    const created = await healthUntil(target, refs, 'Current');
    expect(created.seen[0]).toBe('InProgress');
    const live = await getObject(admin, `/apis/apps/v1/namespaces/${ns}/statefulsets/db`);
    expect(live?.status).toMatchObject({ readyReplicas: 2, currentReplicas: 2 });

    await sync(target, [namespace(ns), service, setImage(sts, 'nginx:1.28')], first.inventory);
    const updated = await healthUntil(target, refs, 'Current');
    expect(updated.seen[0]).toBe('InProgress');
    const after = (await getObject(admin, `/apis/apps/v1/namespaces/${ns}/statefulsets/db`))?.status as {
      currentRevision: string;
      updateRevision: string;
    };
    expect(after.currentRevision).toBe(after.updateRevision);
    expect(after.currentRevision).not.toBe(
      ((live?.status ?? {}) as { currentRevision?: string }).currentRevision,
    );
  });

  it('a DaemonSet: Current once a Ready Pod runs on every fake Node', async () => {
    const { target, admin } = await kubeTarget();
    const kube = await testenv.kube();
    const ns = uniqueName('health-ds');
    const ds = daemonSet(ns, 'agent');
    await sync(target, [namespace(ns), ds], emptyInventory);
    await healthUntil(target, [refOf(ds)], 'Current');
    const status = (await getObject(admin, `/apis/apps/v1/namespaces/${ns}/daemonsets/agent`))?.status;
    if (!kube.existingCluster) {
      expect(status).toMatchObject({
        desiredNumberScheduled: kube.nodes.length,
        numberReady: kube.nodes.length,
      });
    }
  });

  it('a Job: Current when it completes, Failed when its Pod cannot start before the deadline', async () => {
    const { target } = await kubeTarget();
    const ns = uniqueName('health-job');
    const ok = job(ns, 'migrate', 'busybox:1.37');
    const stuck = job(ns, 'stuck', 'busybox:does-not-exist', { activeDeadlineSeconds: 2 });
    await sync(target, [namespace(ns), ok, stuck], emptyInventory);
    await healthUntil(target, [refOf(ok)], 'Current');
    const failed = await healthUntil(target, [refOf(stuck)], 'Failed');
    expect(failed.report.objects[0]?.message).toMatch(/DeadlineExceeded|deadline/i);
  });

  it('a PersistentVolumeClaim: Current once the binder controller binds it to a matching volume, InProgress while none matches', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('health-pvc');
    const pvName = uniqueName('pv');
    const pv: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: '/tmp/never-mounted' },
      },
    };
    const claim = (name: string, size: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: ns },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        resources: { requests: { storage: size } },
      },
    });
    const bound = claim('data', '1Gi');
    // No volume is that large and no provisioner runs: it stays Pending.
    const pending = claim('huge', '100Gi');
    await sync(target, [namespace(ns), pv, bound, pending], emptyInventory);
    await healthUntil(target, [refOf(bound)], 'Current');
    const live = await getObject(admin, `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`);
    expect(live?.spec).toMatchObject({ volumeName: pvName });
    expect(((live?.status ?? {}) as { phase?: string }).phase).toBe('Bound');
    const waiting = await target.health([refOf(pending)], { signal: signal() });
    expect(waiting.status).toBe('InProgress');
    await admin.request({ method: 'DELETE', path: `/api/v1/persistentvolumes/${pvName}` });
  });
});

describe('health from hand-written status (states no controller reaches here)', () => {
  it('a custom resource follows its Ready and Stalled conditions, which only its own controller would write', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('health-cr');
    const group = `${uniqueName('h')}.example.com`;
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `databases.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'databases', singular: 'database', kind: 'Database', listKind: 'DatabaseList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    const db: KubeObject = {
      apiVersion: `${group}/v1`,
      kind: 'Database',
      metadata: { name: 'orders', namespace: ns },
      spec: { size: 'small' },
    };
    await sync(target, [crd, namespace(ns), db], emptyInventory);
    const path = `/apis/${group}/v1/namespaces/${ns}/databases/orders/status`;
    const writeConditions = async (conditions: Array<{ type: string; status: string; reason: string }>) => {
      const now = new Date().toISOString();
      await admin.request({
        method: 'PATCH',
        path,
        body: {
          status: {
            conditions: conditions.map((c) => ({ ...c, message: c.reason, lastTransitionTime: now })),
          },
        },
        contentType: 'application/merge-patch+json',
      });
    };
    const read = async () => (await target.health([refOf(db)], { signal: signal() })).status;
    await writeConditions([{ type: 'Ready', status: 'False', reason: 'Provisioning' }]);
    expect(await read()).toBe('InProgress');
    await writeConditions([{ type: 'Ready', status: 'True', reason: 'Provisioned' }]);
    expect(await read()).toBe('Current');
    await writeConditions([
      { type: 'Ready', status: 'False', reason: 'QuotaExceeded' },
      { type: 'Stalled', status: 'True', reason: 'QuotaExceeded' },
    ]);
    expect(await read()).toBe('Failed');
  });
});
