import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { type CreateRepoOptions, createRepo, type GitInfo, startGit, type TestRepo } from './git.js';
import { existingKube, type KubeInfo, type KubeOptions, startKube, useExistingCluster } from './kube.js';
import { type RegistryInfo, type RegistryOptions, startRegistry } from './registry.js';
import { createBucket, type S3Info, startS3 } from './s3.js';
import { findTools, type ToolsInfo } from './tools.js';

/** The Kubernetes API of the test run. */
export interface KubeEnv extends KubeInfo {
  /** A client-node KubeConfig loaded from {@link KubeInfo.kubeconfigPath}. */
  kubeConfig(): KubeConfig;
}

/** The S3 server of the test run. */
export interface S3Env extends S3Info {
  /** Creates a bucket; `versioning: true` enables bucket versioning. */
  createBucket(name: string, options?: { versioning?: boolean }): Promise<void>;
}

/** The Git smart-HTTP server of the test run. */
export interface GitEnv extends GitInfo {
  /** Creates an empty bare repository (private unless `public: true`) and returns its URL. */
  createRepo(name: string, options?: CreateRepoOptions): Promise<TestRepo>;
}

/** The CLI tools of the test run. */
export type ToolsEnv = ToolsInfo;

/** Everything a test run started, as plain data (what the global setup hands to workers). */
export interface TestenvInfo {
  /** Folder holding the servers' data, certificates and logs. */
  workDir: string;
  kube?: KubeInfo;
  s3?: S3Info;
  git?: GitInfo;
  /** The OCI registry (distribution), when it was asked for. */
  registry?: RegistryInfo;
  tools?: ToolsInfo;
  /** Why the tools could not be found, when they could not. */
  toolsError?: string;
}

/** What {@link startTestenv} should start. Each defaults to true. */
export interface StartOptions {
  /** The Kubernetes cluster: true (or `{}`) for the living cluster, `{ bare: true }` for the bare apiserver. */
  kube?: boolean | KubeOptions;
  s3?: boolean;
  git?: boolean;
  /** The OCI registry: true (or `{}`) for TLS + basic auth, `{ tls: false, auth: false }` for plain HTTP. Default false. */
  registry?: boolean | RegistryOptions;
  /** Look up kustomize, helm and kubectl; a missing one fails `tools()`, not the start. */
  tools?: boolean;
}

/** A started test environment. */
export interface Testenv {
  /** The Kubernetes API (undefined when not requested). */
  kube?: KubeEnv;
  s3?: S3Env;
  git?: GitEnv;
  /** The OCI registry (undefined when not requested). */
  registry?: RegistryInfo;
  tools?: ToolsEnv;
  /** Plain-data form of everything above. */
  info: TestenvInfo;
  /** Stops every process and removes the work folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Adds client helpers to plain Kubernetes connection facts. */
export function kubeEnv(info: KubeInfo): KubeEnv {
  return {
    ...info,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(info.kubeconfigPath);
      return kc;
    },
  };
}

/** Adds client helpers to plain S3 connection facts. */
export function s3Env(info: S3Info): S3Env {
  return { ...info, createBucket: (name, options) => createBucket(info, name, options) };
}

/** Adds client helpers to plain Git connection facts. */
export function gitEnv(info: GitInfo): GitEnv {
  return { ...info, createRepo: (name, options) => createRepo(info, name, options) };
}

/** Turns the plain-data form back into the API objects. */
export function fromInfo(info: TestenvInfo): Omit<Testenv, 'stop'> {
  return {
    info,
    ...(info.kube ? { kube: kubeEnv(info.kube) } : {}),
    ...(info.s3 ? { s3: s3Env(info.s3) } : {}),
    ...(info.git ? { git: gitEnv(info.git) } : {}),
    ...(info.registry ? { registry: info.registry } : {}),
    ...(info.tools ? { tools: info.tools } : {}),
  };
}

/**
 * Retries a start-up whose port was taken between choosing it and binding it (another process
 * on the machine can grab a free port in that window). Each attempt gets its own folder.
 */
async function retryPortClash<T>(dir: string, start: (dir: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(attempt === 1 ? dir : `${dir}-${attempt}`);
    } catch (error) {
      const clash = error instanceof Error && /address already in use/i.test(error.message);
      if (!clash || attempt >= 3) throw error;
    }
  }
}

/**
 * Starts the requested servers in parallel on free loopback ports (usable outside vitest,
 * e.g. by benchmarks run with tsx). With USE_EXISTING_CLUSTER=true, `kube` is the user's
 * cluster from KUBECONFIG. On a start-up failure everything already started is stopped and
 * the work folder (with the logs the error names) is kept.
 */
export async function startTestenv(options: StartOptions = {}): Promise<Testenv> {
  const want = { kube: true, s3: true, git: true, tools: true, registry: false, ...options };
  const workDir = await mkdtemp(join(tmpdir(), 'gitops-kit-testenv-'));
  const stops: Array<() => Promise<void>> = [];
  const removeOnExit = (): void => {
    if (process.env.GITOPS_KIT_TESTENV_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
  };
  process.on('exit', removeOnExit);
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(stops.splice(0).map((stop) => stop()));
  };
  const track = async <T extends { stop(): Promise<void> }>(started: Promise<T>): Promise<T> => {
    const value = await started;
    stops.push(() => value.stop());
    return value;
  };
  const info: TestenvInfo = { workDir };
  const kubeOptions: KubeOptions = typeof want.kube === 'object' ? want.kube : {};
  const results = await Promise.allSettled([
    want.kube
      ? track(
          useExistingCluster()
            ? existingKube()
            : retryPortClash(join(workDir, 'kube'), (dir) => startKube(dir, kubeOptions)),
        ).then((k) => {
          info.kube = k.info;
        })
      : undefined,
    want.s3 ? track(retryPortClash(join(workDir, 's3'), startS3)).then((s) => (info.s3 = s.info)) : undefined,
    want.git ? track(startGit(join(workDir, 'git'))).then((g) => (info.git = g.info)) : undefined,
    want.registry
      ? track(
          retryPortClash(join(workDir, 'registry'), (dir) =>
            startRegistry(dir, typeof want.registry === 'object' ? want.registry : {}),
          ),
        ).then((r) => (info.registry = r.info))
      : undefined,
    want.tools
      ? findTools().then(
          (tools) => (info.tools = tools),
          (error: unknown) => (info.toolsError = error instanceof Error ? error.message : String(error)),
        )
      : undefined,
  ]);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await stopAll();
    process.off('exit', removeOnExit);
    const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
    throw new Error(`${messages.join('\n\n')}\n(testenv work folder kept: ${workDir})`);
  }
  let stopped = false;
  return {
    ...fromInfo(info),
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopAll();
      process.off('exit', removeOnExit);
      if (process.env.GITOPS_KIT_TESTENV_KEEP !== '1') await rm(workDir, { recursive: true, force: true });
    },
  };
}
