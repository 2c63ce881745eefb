import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { findAsset } from './assets.js';
import { base64File, type ControlPlanePki, makeControlPlanePki } from './certs.js';
import { freePort, type ManagedProcess, startProcess, waitReady } from './process.js';

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
  /** Milliseconds to make certificates, start etcd and get the API server ready (0 for an existing cluster). */
  startupMs: number;
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

interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** One HTTPS request to the API server as the admin; resolves with status and body. */
function apiRequest(
  server: string,
  tls: Tls,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, server),
      {
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        headers: payload ? { 'content-type': 'application/json' } : {},
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout on ${method} ${path}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function writeKubeconfig(path: string, server: string, pki: ControlPlanePki): Promise<void> {
  // JSON is YAML: kubectl, helm and client-node all read it.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'testenv', cluster: { server, 'certificate-authority-data': await base64File(pki.caCert) } },
    ],
    users: [
      {
        name: 'testenv-admin',
        user: {
          'client-certificate-data': await base64File(pki.adminCert),
          'client-key-data': await base64File(pki.adminKey),
        },
      },
    ],
    contexts: [
      { name: 'testenv', context: { cluster: 'testenv', user: 'testenv-admin', namespace: 'default' } },
    ],
    'current-context': 'testenv',
  };
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Starts etcd and kube-apiserver on free loopback ports, the way controller-runtime's envtest
 * does: per-run certificates, RBAC authorization, an admin client certificate, and a
 * kubeconfig in `dir`. Ensures the `default` namespace exists.
 */
export async function startKube(dir: string): Promise<RunningKube> {
  const started = Date.now();
  const etcdBin = findAsset('etcd');
  const apiserverBin = findAsset('kube-apiserver');
  await mkdir(join(dir, 'etcd-data'), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'pki'), { recursive: true });
  const [pkiResult, etcdResult] = await Promise.allSettled([
    makeControlPlanePki(join(dir, 'pki')),
    startEtcd(dir, etcdBin),
  ]);
  if (pkiResult.status === 'rejected') {
    if (etcdResult.status === 'fulfilled') await etcdResult.value.proc.stop();
    throw pkiResult.reason;
  }
  if (etcdResult.status === 'rejected') throw etcdResult.reason;
  const pki = pkiResult.value;
  const etcd = etcdResult.value;
  const processes: ManagedProcess[] = [etcd.proc];
  const stop = async (): Promise<void> => {
    // The API server first, so it does not log etcd connection errors on the way down.
    for (const proc of [...processes].reverse()) await proc.stop();
  };
  try {
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
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
        '--disable-admission-plugins=ServiceAccount',
        '--authorization-mode=RBAC',
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
      ],
    });
    processes.push(apiserver);
    const tls: Tls = {
      ca: await readFile(pki.caCert),
      cert: await readFile(pki.adminCert),
      key: await readFile(pki.adminKey),
    };
    await waitReady(apiserver, { binary: apiserverBin, port }, async () => {
      const res = await apiRequest(server, tls, 'GET', '/readyz');
      return res.status === 200;
    });
    await ensureNamespace(server, tls, 'default');
    const version = JSON.parse((await apiRequest(server, tls, 'GET', '/version')).body) as {
      gitVersion: string;
    };
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeKubeconfig(kubeconfigPath, server, pki);
    return {
      info: {
        kubeconfigPath,
        server,
        version: version.gitVersion,
        etcdVersion: etcd.version,
        startupMs: Date.now() - started,
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
      existingCluster: true,
    },
    stop: async () => {},
  };
}

/** True when USE_EXISTING_CLUSTER asks for the user's cluster instead of a started one. */
export function useExistingCluster(): boolean {
  return process.env.USE_EXISTING_CLUSTER === 'true';
}
