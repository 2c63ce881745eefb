import { mkdir, readFile } from 'node:fs/promises';
import { get } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiRequest, type Tls, writeKubeconfig } from './api.js';
import { findAsset } from './assets.js';
import type { ComponentUser, ControlPlanePki } from './certs.js';
import { freePort, type ManagedProcess, startProcess, waitReady } from './process.js';

/**
 * The living cluster: kube-controller-manager and kube-scheduler of the API server's release, and
 * kwok playing the kubelets of a few fake Nodes (rules in testenv/kwok/stages.yaml), so
 * Deployments roll out, Jobs complete, Namespaces finish terminating and garbage collection runs.
 */

/** The annotation kwok's `--manage-nodes-with-annotation-selector` selects fake Nodes by. */
export const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

/** The fake Nodes every living cluster gets: enough for a DaemonSet or spread Pods to mean something. */
export const FAKE_NODES: readonly string[] = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];

const STAGES = fileURLToPath(new URL('../kwok/stages.yaml', import.meta.url));

/** Milliseconds from each part's start to its readiness. */
export interface LivingStartup {
  /** Until the `default` ServiceAccount of `default` exists (its controllers run). */
  controllerManagerMs: number;
  /** Until the scheduler's `/readyz` answers ok. */
  schedulerMs: number;
  /** Until every fake Node is Ready and has lost its not-ready taint. */
  kwokMs: number;
}

/** What {@link startLiving} needs from the started control plane. */
export interface LivingContext {
  dir: string;
  server: string;
  pki: ControlPlanePki;
  /** The admin's TLS material, for the readiness checks. */
  admin: Tls;
}

/** The running parts, for the caller to stop. */
export interface RunningLiving {
  processes: ManagedProcess[];
  startup: LivingStartup;
  nodes: readonly string[];
}

async function componentKubeconfig(ctx: LivingContext, user: ComponentUser): Promise<string> {
  const cert = ctx.pki.components?.[user];
  if (!cert) throw new Error(`testenv: no client certificate for ${user} (PKI made without components)`);
  const path = join(ctx.dir, `${user}.kubeconfig`);
  await writeKubeconfig(path, ctx.server, { caCert: ctx.pki.caCert, ...cert, user });
  return path;
}

/**
 * Polls `check` until it is true and resolves with the milliseconds since `since`; fails naming
 * the part, what it waited for and its log.
 */
async function readyAfter(
  since: number,
  proc: ManagedProcess,
  what: { binary: string; port?: number; waitingFor?: string },
  check: () => Promise<boolean>,
): Promise<number> {
  await waitReady(proc, what, check);
  return Date.now() - since;
}

/** GET of a loopback HTTPS health endpoint whose certificate is self-signed by the component. */
function selfSignedOk(url: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    // The scheduler serves with a certificate it made itself at start: nothing to verify against.
    const req = get(url, { rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on GET ${url}`)));
    req.on('error', reject);
  });
}

function fakeNode(name: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [FAKE_NODE_ANNOTATION]: 'fake' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    spec: {},
  };
}

interface NodeList {
  items: Array<{
    metadata: { name: string };
    spec?: { taints?: Array<{ key: string }> };
    status?: { conditions?: Array<{ type: string; status: string }> };
  }>;
}

/** True when every fake Node is Ready and the node lifecycle controller lifted its not-ready taint. */
async function nodesReady(ctx: LivingContext): Promise<boolean> {
  const res = await apiRequest(ctx.server, ctx.admin, 'GET', '/api/v1/nodes');
  if (res.status !== 200) return false;
  const nodes = (JSON.parse(res.body) as NodeList).items;
  return FAKE_NODES.every((name) => {
    const node = nodes.find((n) => n.metadata.name === name);
    const ready = node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const tainted = node?.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'));
    return ready && !tainted;
  });
}

async function createNodes(ctx: LivingContext): Promise<void> {
  for (const name of FAKE_NODES) {
    const res = await apiRequest(ctx.server, ctx.admin, 'POST', '/api/v1/nodes', fakeNode(name));
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`testenv: could not create Node ${name}: HTTP ${res.status} ${res.body}`);
    }
  }
}

/**
 * Starts kube-controller-manager, kube-scheduler and kwok against the running API server, in
 * parallel, creates the fake Nodes and waits until each part is ready. Every process started is
 * in `processes` of the result, or stopped when the start fails.
 */
export async function startLiving(ctx: LivingContext): Promise<RunningLiving> {
  const processes: ManagedProcess[] = [];
  const bin = {
    kcm: findAsset('kube-controller-manager'),
    scheduler: findAsset('kube-scheduler'),
    kwok: findAsset('kwok'),
  };
  try {
    const [kcmConfig, schedulerConfig, kwokConfig, schedulerPort] = await Promise.all([
      componentKubeconfig(ctx, 'kube-controller-manager'),
      componentKubeconfig(ctx, 'kube-scheduler'),
      componentKubeconfig(ctx, 'kwok'),
      freePort(),
      mkdir(join(ctx.dir, 'flexvolume'), { recursive: true }),
      mkdir(join(ctx.dir, 'kwok-home'), { recursive: true }),
    ]);
    const since = Date.now();
    const kcm = startProcess({
      name: 'kube-controller-manager',
      binary: bin.kcm,
      logPath: join(ctx.dir, 'kube-controller-manager.log'),
      args: [
        `--kubeconfig=${kcmConfig}`,
        // The API server verifies ServiceAccount tokens with the public half of this key.
        `--service-account-private-key-file=${ctx.pki.saKey}`,
        `--root-ca-file=${ctx.pki.caCert}`,
        `--cluster-signing-cert-file=${ctx.pki.caCert}`,
        `--cluster-signing-key-file=${ctx.pki.caKey}`,
        // Each controller acts as its own ServiceAccount in kube-system, as in kubeadm clusters.
        '--use-service-account-credentials=true',
        '--controllers=*',
        '--leader-elect=false',
        // No HTTPS endpoint (readiness is the `default` ServiceAccount): no port to clash.
        '--secure-port=0',
        // Otherwise it creates /usr/libexec/kubernetes/kubelet-plugins/volume/exec.
        `--flex-volume-plugin-dir=${join(ctx.dir, 'flexvolume')}`,
        '--cluster-name=testenv',
      ],
    });
    processes.push(kcm);
    const scheduler = startProcess({
      name: 'kube-scheduler',
      binary: bin.scheduler,
      logPath: join(ctx.dir, 'kube-scheduler.log'),
      args: [
        `--kubeconfig=${schedulerConfig}`,
        '--leader-elect=false',
        `--secure-port=${schedulerPort}`,
        '--bind-address=127.0.0.1',
      ],
    });
    processes.push(scheduler);
    const kwok = startProcess({
      name: 'kwok',
      binary: bin.kwok,
      logPath: join(ctx.dir, 'kwok.log'),
      // kwok would also read ~/.kwok/kwok.yaml: a HOME of its own keeps the user's config out.
      env: { HOME: join(ctx.dir, 'kwok-home') },
      args: [
        `--kubeconfig=${kwokConfig}`,
        `--config=${STAGES}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
        // Pod IPs from a range apart from the Service range (10.0.0.0/24).
        '--cidr=10.244.0.0/16',
        '--node-ip=10.245.0.1',
      ],
    });
    processes.push(kwok);
    await createNodes(ctx);
    // Its /healthz is ok seconds before its controllers run: the ServiceAccount controller's
    // first work is the readiness signal.
    const [controllerManagerMs, schedulerMs, kwokMs] = await Promise.all([
      readyAfter(since, kcm, { binary: bin.kcm, waitingFor: 'the default ServiceAccount' }, async () => {
        const path = '/api/v1/namespaces/default/serviceaccounts/default';
        return (await apiRequest(ctx.server, ctx.admin, 'GET', path)).status === 200;
      }),
      readyAfter(since, scheduler, { binary: bin.scheduler, port: schedulerPort }, () =>
        selfSignedOk(`https://127.0.0.1:${schedulerPort}/readyz`),
      ),
      readyAfter(since, kwok, { binary: bin.kwok, waitingFor: 'fake Nodes Ready' }, () => nodesReady(ctx)),
    ]);
    return { processes, nodes: FAKE_NODES, startup: { controllerManagerMs, schedulerMs, kwokMs } };
  } catch (error) {
    await Promise.allSettled(processes.map((p) => p.stop()));
    throw error;
  }
}

/** The admin TLS material from the PKI files. */
export async function adminTls(pki: ControlPlanePki): Promise<Tls> {
  return {
    ca: await readFile(pki.caCert),
    cert: await readFile(pki.adminCert),
    key: await readFile(pki.adminKey),
  };
}
