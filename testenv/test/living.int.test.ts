import { randomBytes } from 'node:crypto';
import { pinnedVersions, testenv } from '@gitops-kit/testenv';
import {
  AppsV1Api,
  AuthenticationV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

const unique = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

/** Polls `read` until `done` holds for its value; fails with the last value seen. */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `condition not met after ${timeoutMs} ms; last value: ${JSON.stringify(last)?.slice(0, 2000)}`,
  );
}

function deployment(name: string, image: string, extra: Partial<V1Deployment['spec']> = {}): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image }] },
      },
      ...extra,
    },
  };
}

async function newNamespace(core: CoreV1Api, prefix: string): Promise<string> {
  const name = unique(prefix);
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

describe('testenv living cluster (controllers, scheduler, kwok)', () => {
  it('reports its parts, their start-up times and Ready fake Nodes', async () => {
    const kube = await testenv.kube();
    expect(kube.living).toBe(true);
    if (kube.existingCluster) return;
    expect(kube.kwokVersion).toBe(pinnedVersions().kwok);
    expect(kube.nodes).toEqual(['kwok-node-0', 'kwok-node-1', 'kwok-node-2']);
    const s = kube.startup;
    for (const ms of [
      s?.pkiMs,
      s?.etcdMs,
      s?.apiserverMs,
      s?.controllerManagerMs,
      s?.schedulerMs,
      s?.kwokMs,
    ]) {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(kube.startupMs);
    }
    const nodes = await kube.kubeConfig().makeApiClient(CoreV1Api).listNode();
    for (const name of kube.nodes) {
      const node = nodes.items.find((n) => n.metadata?.name === name);
      expect(node?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('gives every namespace a default ServiceAccount whose token the apiserver accepts', async () => {
    const kube = await testenv.kube();
    const core = kube.kubeConfig().makeApiClient(CoreV1Api);
    const ns = await newNamespace(core, 'sa');
    const sa = await eventually(
      () => core.listNamespacedServiceAccount({ namespace: ns }),
      (list) => list.items.some((a) => a.metadata?.name === 'default'),
    );
    expect(sa.items.map((a) => a.metadata?.name)).toContain('default');
    const token = await core.createNamespacedServiceAccountToken({
      name: 'default',
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    // The token, signed with the key the controller-manager shares, authenticates as the account.
    const asAccount = new KubeConfig();
    const cluster = kube.kubeConfig().getCurrentCluster();
    if (!cluster) throw new Error('no current cluster');
    asAccount.loadFromClusterAndUser(cluster, { name: 'sa', token: token.status?.token });
    const review = await asAccount.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns}:default`);
  });

  it('rolls a Deployment out to Ready Pods on the fake Nodes, and garbage-collects it', async () => {
    const kc = (await testenv.kube()).kubeConfig();
    const [core, apps] = [kc.makeApiClient(CoreV1Api), kc.makeApiClient(AppsV1Api)];
    const ns = await newNamespace(core, 'rollout');
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 'nginx:1.27') });
    const done = await eventually(
      () => apps.readNamespacedDeployment({ name: 'web', namespace: ns }),
      (d) => d.status?.availableReplicas === 2 && d.status.updatedReplicas === 2,
    );
    expect(done.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
    const pods = await core.listNamespacedPod({ namespace: ns });
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-\d$/);
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.podIP).toMatch(/^10\.244\./);
    }
    // Deleting the Deployment leaves its ReplicaSet and Pods to the garbage collector.
    await apps.deleteNamespacedDeployment({ name: 'web', namespace: ns, propagationPolicy: 'Background' });
    await eventually(
      () => apps.listNamespacedReplicaSet({ namespace: ns }),
      (list) => list.items.length === 0,
    );
    await eventually(
      () => core.listNamespacedPod({ namespace: ns }),
      (list) => list.items.length === 0,
    );
    // A Namespace finishes terminating: the namespace controller empties it.
    await core.deleteNamespace({ name: ns });
    await eventually(
      () => core.listNamespace(),
      (list) => !list.items.some((n) => n.metadata?.name === ns),
    );
  });

  it('completes a Job', async () => {
    const kc = (await testenv.kube()).kubeConfig();
    const [core, batch] = [kc.makeApiClient(CoreV1Api), kc.makeApiClient(BatchV1Api)];
    const ns = await newNamespace(core, 'job');
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'once' },
        spec: {
          template: {
            spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.37' }] },
          },
        },
      },
    });
    const job = await eventually(
      () => batch.readNamespacedJob({ name: 'once', namespace: ns }),
      (j) => (j.status?.succeeded ?? 0) >= 1 && !!j.status?.completionTime,
    );
    expect(job.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
  });

  it('fails an image tagged does-not-exist like a bad pull: ProgressDeadlineExceeded', async () => {
    const kc = (await testenv.kube()).kubeConfig();
    const [core, apps] = [kc.makeApiClient(CoreV1Api), kc.makeApiClient(AppsV1Api)];
    const ns = await newNamespace(core, 'badimage');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 'example.com/web:does-not-exist', { replicas: 1, progressDeadlineSeconds: 3 }),
    });
    const pods = await eventually(
      () => core.listNamespacedPod({ namespace: ns }),
      (list) => list.items.some((p) => p.status?.containerStatuses?.[0]?.state?.waiting),
    );
    const status = pods.items[0]?.status;
    expect(status?.phase).toBe('Pending');
    expect(status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ImagePullBackOff');
    const stuck = await eventually(
      () => apps.readNamespacedDeployment({ name: 'web', namespace: ns }),
      (d) => d.status?.conditions?.some((c) => c.reason === 'ProgressDeadlineExceeded') ?? false,
    );
    const progressing = stuck.status?.conditions?.find((c) => c.type === 'Progressing');
    expect(progressing?.status).toBe('False');
    expect(stuck.status?.availableReplicas ?? 0).toBe(0);
  });

  it('starts a bare apiserver apart on request, where nothing moves', async () => {
    const [living, bare] = await Promise.all([testenv.kube(), testenv.kube({ bare: true })]);
    if (living.existingCluster) return;
    expect(bare.living).toBe(false);
    expect(bare.server).not.toBe(living.server);
    expect(bare.nodes).toEqual([]);
    const kc = bare.kubeConfig();
    const [core, apps] = [kc.makeApiClient(CoreV1Api), kc.makeApiClient(AppsV1Api)];
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment(unique('still'), 'nginx:1.27'),
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await apps.listNamespacedReplicaSet({ namespace: 'default' })).items).toEqual([]);
    expect((await core.listNamespacedServiceAccount({ namespace: 'default' })).items).toEqual([]);
    expect((await core.listNode()).items).toEqual([]);
  });
});
