/**
 * @gitops-kit/testenv: real servers for integration tests. Inside vitest's `integration`
 * project the global setup's control server starts each server the first time a test asks for
 * it, once per run; elsewhere (a tsx benchmark) the first call starts what it needs in this
 * process, and the process's exit stops it.
 */
import { askControl, type ServerName, startOptionsOf } from './control.js';
import {
  fromInfo,
  type GitEnv,
  type KubeEnv,
  type S3Env,
  startTestenv,
  type Testenv,
  type TestenvInfo,
  type ToolsEnv,
} from './env.js';
import type { KubeOptions } from './kube.js';
import { type ControlInfo, PROVIDED_KEY } from './provided.js';
import type { RegistryInfo } from './registry.js';
import { findTools, type ToolsInfo } from './tools.js';

export type { AssetName, PinnedVersions } from './assets.js';
export { cacheDir, findAsset, findProviderMirror, pinnedVersions } from './assets.js';
export {
  type ChartRepository,
  type ChartRepositoryOptions,
  type ChartRepositoryRequest,
  helmEnv,
  startChartRepository,
} from './chart-repo.js';
export type { GitEnv, KubeEnv, S3Env, StartOptions, Testenv, TestenvInfo, ToolsEnv } from './env.js';
export { fromInfo, gitEnv, kubeEnv, s3Env, startTestenv } from './env.js';
export type { CreateRepoOptions, GitInfo, TestRepo } from './git.js';
export type { KubeInfo, KubeOptions, KubeStartup } from './kube.js';
export { FAKE_NODE_ANNOTATION } from './living.js';
export {
  type PrometheusOptions,
  type PromSample,
  type RunningPrometheus,
  startPrometheus,
} from './prometheus.js';
export type { ControlInfo } from './provided.js';
export type { RegistryInfo, RegistryOptions, RunningRegistry } from './registry.js';
export { startRegistry } from './registry.js';
export type { S3Info } from './s3.js';
export { s3Client } from './s3.js';
export type { ToolsInfo } from './tools.js';

// Outside vitest: one environment per server, started on first use.
const ownEnvs = new Map<ServerName, Promise<Testenv>>();
// Inside a vitest worker: answers of the control server, asked once per worker.
const fromControl = new Map<string, Promise<unknown>>();

async function control(): Promise<ControlInfo | undefined> {
  if (process.env.VITEST !== 'true') return undefined;
  const { inject } = await import('vitest');
  const info = inject(PROVIDED_KEY);
  if (!info) {
    throw new Error(
      'testenv: no servers are provided to this test. They are started for the `integration` ' +
        'project (files named *.int.test.ts, globalSetup testenv/src/global-setup.ts).',
    );
  }
  return info;
}

async function ask<T>(path: string): Promise<T | undefined> {
  const info = await control();
  if (!info) return undefined;
  let answer = fromControl.get(path);
  if (!answer) {
    answer = askControl<T>(info, path);
    fromControl.set(path, answer);
  }
  return (await answer) as T;
}

// Ctrl-C or a TERM would end the process without its 'exit' hooks (which stop the servers and
// remove their folders): turn them into a normal exit, unless the program handles them itself.
function exitOnSignals(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(code));
  }
}

async function ownEnv(name: ServerName): Promise<Testenv> {
  let env = ownEnvs.get(name);
  if (!env) {
    exitOnSignals();
    env = startTestenv(startOptionsOf(name));
    ownEnvs.set(name, env);
  }
  return env;
}

/** The servers and tools of the current test run. */
export const testenv = {
  /**
   * The Kubernetes cluster: kubeconfig path, server URL, version, start-up times, and a client-node
   * KubeConfig. By default the living cluster (kube-controller-manager, kube-scheduler, kwok's fake
   * Nodes: workloads roll out); `{ bare: true }` gives a separate apiserver where nothing moves.
   * With USE_EXISTING_CLUSTER=true both are the user's cluster.
   */
  async kube(options: KubeOptions = {}): Promise<KubeEnv> {
    const name: ServerName = options.bare ? 'kube-bare' : 'kube';
    const info = (await ask<TestenvInfo>(`/servers/${name}`)) ?? (await ownEnv(name)).info;
    return fromInfo(info).kube ?? missing(name);
  },
  /** The S3 server (MinIO): endpoint, region, credentials, version, createBucket(). */
  async s3(): Promise<S3Env> {
    const info = (await ask<TestenvInfo>('/servers/s3')) ?? (await ownEnv('s3')).info;
    return fromInfo(info).s3 ?? missing('s3');
  },
  /** The Git smart-HTTP server: base URL, credentials, token, version, createRepo(). */
  async git(): Promise<GitEnv> {
    const info = (await ask<TestenvInfo>('/servers/git')) ?? (await ownEnv('git')).info;
    return fromInfo(info).git ?? missing('git');
  },
  /**
   * The OCI registry of the run (distribution v3), shared by every test: HTTPS with a CA made for
   * it and basic auth by default; `{ plain: true }` gives a plain-HTTP one without auth. For a
   * registry of your own that a test may stop, use {@link startRegistry}.
   */
  async registry(options: { plain?: boolean } = {}): Promise<RegistryInfo> {
    const name: ServerName = options.plain ? 'registry-plain' : 'registry';
    const info = (await ask<TestenvInfo>(`/servers/${name}`)) ?? (await ownEnv(name)).info;
    return info.registry ?? missing(name);
  },
  /** Absolute paths of kustomize, helm and kubectl, and the versions they report. */
  async tools(): Promise<ToolsEnv> {
    return (await ask<ToolsInfo>('/tools')) ?? findTools();
  },
  /** Outside vitest: stops what the calls above started. Inside vitest the global setup does. */
  async stop(): Promise<void> {
    const envs = [...ownEnvs.values()];
    ownEnvs.clear();
    await Promise.allSettled(envs.map(async (env) => (await env).stop()));
  },
};

function missing(name: ServerName): never {
  throw new Error(`testenv: the ${name} server did not start`);
}

export { modulesLoadedByImport, modulesOf } from './module-graph.js';
