/**
 * @gitops-kit/testenv: real servers for integration tests. Inside vitest's `integration`
 * project the global setup has already started them; elsewhere (a tsx benchmark) the first
 * call starts what it needs, and the process's exit stops it.
 */
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
import { PROVIDED_KEY } from './provided.js';
import { findTools } from './tools.js';

export type { AssetName, PinnedVersions } from './assets.js';
export { cacheDir, findAsset, pinnedVersions } from './assets.js';
export type { GitEnv, KubeEnv, S3Env, StartOptions, Testenv, TestenvInfo, ToolsEnv } from './env.js';
export { fromInfo, startTestenv } from './env.js';
export type { CreateRepoOptions, GitInfo, TestRepo } from './git.js';
export type { KubeInfo } from './kube.js';
export type { S3Info } from './s3.js';
export { s3Client } from './s3.js';
export type { ToolsInfo } from './tools.js';

type Server = 'kube' | 's3' | 'git';

// Outside vitest: one environment per server, started on first use.
const ownEnvs = new Map<Server, Promise<Testenv>>();

async function provided(): Promise<TestenvInfo | undefined> {
  if (process.env.VITEST !== 'true') return undefined;
  const { inject } = await import('vitest');
  const info = inject(PROVIDED_KEY);
  if (!info) {
    throw new Error(
      'testenv: no servers were provided to this test. Servers are started by the `integration` ' +
        'project (files named *.int.test.ts, globalSetup testenv/src/global-setup.ts).',
    );
  }
  return info;
}

async function server<K extends Server>(name: K): Promise<NonNullable<Omit<Testenv, 'stop'>[K]>> {
  const info = await provided();
  if (info) {
    const value = fromInfo(info)[name];
    if (!value) {
      throw new Error(
        `testenv: the ${name} server was not started for this run (GITOPS_KIT_TESTENV=${process.env.GITOPS_KIT_TESTENV ?? ''})`,
      );
    }
    return value as NonNullable<Omit<Testenv, 'stop'>[K]>;
  }
  let env = ownEnvs.get(name);
  if (!env) {
    env = startTestenv({ kube: name === 'kube', s3: name === 's3', git: name === 'git', tools: false });
    ownEnvs.set(name, env);
  }
  const value = (await env)[name];
  if (!value) throw new Error(`testenv: the ${name} server did not start`);
  return value as NonNullable<Omit<Testenv, 'stop'>[K]>;
}

/** The servers and tools of the current test run. */
export const testenv = {
  /** The Kubernetes API: kubeconfig path, server URL, version, and a client-node KubeConfig. */
  kube(): Promise<KubeEnv> {
    return server('kube');
  },
  /** The S3 server (MinIO): endpoint, region, credentials, version, createBucket(). */
  s3(): Promise<S3Env> {
    return server('s3');
  },
  /** The Git smart-HTTP server: base URL, credentials, token, version, createRepo(). */
  git(): Promise<GitEnv> {
    return server('git');
  },
  /** Absolute paths of kustomize, helm and kubectl, and the versions they report. */
  async tools(): Promise<ToolsEnv> {
    const info = await provided();
    if (!info) return findTools();
    if (info.tools) return info.tools;
    throw new Error(info.toolsError ?? 'testenv: tools were not looked up for this run');
  },
  /** Everything the run started, as plain data (paths of logs live under `workDir`). */
  async info(): Promise<TestenvInfo | undefined> {
    return provided();
  },
  /** Outside vitest: stops what the calls above started. Inside vitest the global setup does. */
  async stop(): Promise<void> {
    const envs = [...ownEnvs.values()];
    ownEnvs.clear();
    await Promise.allSettled(envs.map(async (env) => (await env).stop()));
  },
};
