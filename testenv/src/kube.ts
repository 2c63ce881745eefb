import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { apiRequest, type Tls, writeKubeconfig } from './api.js';
import { findAsset, pinnedVersions } from './assets.js';
import { makeControlPlanePki } from './certs.js';
import { adminTls, type LivingStartup, startLiving } from './living.js';
import { freePort, type ManagedProcess, startProcess, waitReady } from './process.js';

/** Milliseconds each part of the cluster took to start (parts that run concurrently overlap). */
export interface KubeStartup extends Partial<LivingStartup> {
  /** Per-run CA and certificates (openssl), made while etcd starts. */
  pkiMs: number;
  /** etcd until `/health` is true. */
  etcdMs: number;
  /** kube-apiserver until `/readyz` is ok and `default` exists. */
  apiserverMs: number;
}

/** How {@link startKube} starts the cluster. */
export interface KubeOptions {
  /**
   * Only etcd and kube-apiserver, as controller-runtime's envtest runs them: nothing moves, no
   * ServiceAccounts, no garbage collection, status is what a test writes. Default false: the
   * living cluster with kube-controller-manager, kube-scheduler and kwok's fake Nodes.
   */
  bare?: boolean;
}

/** Connection facts of the Kubernetes API, plain data so it can cross to test workers. */
export interface KubeInfo {
  /** A kubeconfig file whose current context is an admin (system:masters) user. */
  kubeconfigPath: string;
  /** The API server URL, e.g. `https://127.0.0.1:41234`. */
  server: string;
  /** The server's `gitVersion`, e.g. `v1.32.13`. */
  version: string;
  /** etcd's version, when testenv started etcd. */
  etcdVersion?: string;
  /** Milliseconds from the first step until every part was ready (0 for an existing cluster). */
  startupMs: number;
  /** Start-up time of each part, when testenv started them. */
  startup?: KubeStartup;
  /**
   * True when controllers act: testenv's living cluster (kube-controller-manager, kube-scheduler,
   * kwok) or an existing cluster; false for the bare apiserver.
   */
  living: boolean;
  /** The fake Nodes kwok manages (empty for the bare apiserver and an existing cluster). */
  nodes: string[];
  /** kwok's version, when testenv started it. */
  kwokVersion?: string;
  /** True when the tests run against the user's cluster (USE_EXISTING_CLUSTER=true). */
  existingCluster: boolean;
}

/** A running (or borrowed) control plane. */
export interface RunningKube {
  /** Connection facts. */
  info: KubeInfo;
  /** Stops etcd and kube-apiserver (nothing for an existing cluster). */
  stop(): Promise<void>;
}

/**
 * Starts etcd and kube-apiserver on free loopback ports, the way controller-runtime's envtest
 * does: per-run certificates, RBAC authorization, an admin client certificate, and a
 * kubeconfig in `dir`. Ensures the `default` namespace exists. Unless `bare`, then starts the
 * living cluster's kube-controller-manager, kube-scheduler and kwok (see living.ts).
 */
export async function startKube(dir: string, options: KubeOptions = {}): Promise<RunningKube> {
  const living = !options.bare;
  const started = Date.now();
  const etcdBin = findAsset('etcd');
  const apiserverBin = findAsset('kube-apiserver');
  await mkdir(join(dir, 'etcd-data'), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'pki'), { recursive: true });
  const [pkiResult, etcdResult] = await Promise.allSettled([
    makeControlPlanePki(join(dir, 'pki'), { components: living }).then((pki) => ({
      pki,
      ms: Date.now() - started,
    })),
    startEtcd(dir, etcdBin).then((etcd) => ({ etcd, ms: Date.now() - started })),
  ]);
  if (pkiResult.status === 'rejected') {
    if (etcdResult.status === 'fulfilled') await etcdResult.value.etcd.proc.stop();
    throw pkiResult.reason;
  }
  if (etcdResult.status === 'rejected') throw etcdResult.reason;
  const { pki, ms: pkiMs } = pkiResult.value;
  const { etcd, ms: etcdMs } = etcdResult.value;
  // Stopped in reverse: the living parts together, then the API server (so it does not log etcd
  // connection errors on the way down), then etcd.
  const layers: ManagedProcess[][] = [[etcd.proc]];
  const stop = async (): Promise<void> => {
    for (const layer of layers.splice(0).reverse()) await Promise.allSettled(layer.map((p) => p.stop()));
  };
  try {
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const apiserverStarted = Date.now();
    const apiserver = startProcess({
      name: 'kube-apiserver',
      binary: apiserverBin,
      logPath: join(dir, 'kube-apiserver.log'),
      args: [
        `--etcd-servers=${etcd.url}`,
        `--cert-dir=${join(dir, 'pki')}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--secure-port=${port}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        // envtest turns the ServiceAccount admission plugin off because nothing creates the
        // ServiceAccounts it looks up; in the living cluster the controller-manager does, so Pods
        // are admitted as in any cluster (their `default` ServiceAccount and its token volume).
        ...(living ? [] : ['--disable-admission-plugins=ServiceAccount']),
        '--authorization-mode=RBAC',
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
      ],
    });
    layers.push([apiserver]);
    const tls: Tls = await adminTls(pki);
    await waitReady(apiserver, { binary: apiserverBin, port }, async () => {
      const res = await apiRequest(server, tls, 'GET', '/readyz');
      return res.status === 200;
    });
    await ensureNamespace(server, tls, 'default');
    const apiserverMs = Date.now() - apiserverStarted;
    const version = JSON.parse((await apiRequest(server, tls, 'GET', '/version')).body) as {
      gitVersion: string;
    };
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeKubeconfig(kubeconfigPath, server, {
      caCert: pki.caCert,
      cert: pki.adminCert,
      key: pki.adminKey,
      user: 'testenv-admin',
    });
    const parts = living ? await startLiving({ dir, server, pki, admin: tls }) : undefined;
    if (parts) layers.push(parts.processes);
    return {
      info: {
        kubeconfigPath,
        server,
        version: version.gitVersion,
        etcdVersion: etcd.version,
        startupMs: Date.now() - started,
        startup: { pkiMs, etcdMs, apiserverMs, ...parts?.startup },
        living,
        nodes: [...(parts?.nodes ?? [])],
        ...(living ? { kwokVersion: pinnedVersions().kwok } : {}),
        existingCluster: false,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startEtcd(
  dir: string,
  binary: string,
): Promise<{ proc: ManagedProcess; url: string; version: string }> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess({
    name: 'etcd',
    binary,
    logPath: join(dir, 'etcd.log'),
    args: [
      '--name=testenv',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=testenv=${peer}`,
      // Test data is thrown away: skip fsync, as envtest does.
      '--unsafe-no-fsync=true',
    ],
  });
  let version = '';
  try {
    await waitReady(proc, { binary, port: clientPort }, async () => {
      const health = await fetch(`${url}/health`);
      // Read the body in every case, so a not-ready answer does not hold its connection.
      const text = await health.text();
      if (!health.ok || !text.includes('"true"')) return false;
      version = ((await (await fetch(`${url}/version`)).json()) as { etcdserver: string }).etcdserver;
      return true;
    });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { proc, url, version: version.startsWith('v') ? version : `v${version}` };
}

async function ensureNamespace(server: string, tls: Tls, name: string): Promise<void> {
  // The API server's own bootstrap controller creates `default`, but possibly after /readyz.
  const found = await apiRequest(server, tls, 'GET', `/api/v1/namespaces/${name}`);
  if (found.status === 200) return;
  const created = await apiRequest(server, tls, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  });
  if (created.status !== 201 && created.status !== 409) {
    throw new Error(`testenv: could not create namespace ${name}: HTTP ${created.status} ${created.body}`);
  }
}

/**
 * USE_EXISTING_CLUSTER=true: the tests use the cluster of `$KUBECONFIG` (first file) or
 * `~/.kube/config`, its current context. Nothing is started or stopped.
 */
export async function existingKube(): Promise<RunningKube> {
  const kubeconfigPath =
    (process.env.KUBECONFIG ?? '').split(delimiter).find(Boolean) ?? join(homedir(), '.kube', 'config');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new Error(`testenv: USE_EXISTING_CLUSTER=true but ${kubeconfigPath} has no current cluster`);
  const version = await kc.makeApiClient(VersionApi).getCode();
  return {
    info: {
      kubeconfigPath,
      server: cluster.server,
      version: version.gitVersion,
      startupMs: 0,
      // A real cluster, whose controllers act; testenv knows nothing of its Nodes.
      living: true,
      nodes: [],
      existingCluster: true,
    },
    stop: async () => {},
  };
}

/** True when USE_EXISTING_CLUSTER asks for the user's cluster instead of a started one. */
export function useExistingCluster(): boolean {
  return process.env.USE_EXISTING_CLUSTER === 'true';
}
