/**
 * `pnpm bench:flux`: Flux (source-controller and kustomize-controller v1.9.6, built on demand by
 * bench/flux/build-flux.sh into the testenv cache, run out of cluster) beside gitops-kit, against
 * the same bare kube-apiserver and the same Git repository (testenv's git server), in one run, for
 * two shapes:
 *
 *   A. one unit of 1,000 objects (the `bench:apply` set: 10 Namespaces, 330 each of ConfigMaps,
 *      Services and Deployments): one Kustomization / one Reconciler;
 *   B. 100 units of 10 objects (a Namespace and 3 of each kind): 100 Kustomizations / 100 Reconcilers.
 *
 * For each: first sync (from creating the objects, clone included, until every unit applied the
 * commit), a no-op reconcile of every unit, one changed object (for B one ConfigMap of one unit:
 * a new commit that all 100 see), peak RSS of each process (Flux: each controller's VmHWM;
 * gitops-kit: its own process, bench/flux/kit-side.mjs), and API requests, counted from the
 * controllers' `rest_client_requests_total` and from our KubeClient's counters, cross-checked
 * with the apiserver's `apiserver_request_total` (minus the bench's own status polls). Health waits
 * are off on both sides (`wait: false`, no health checks). Each side works in its own folders and
 * namespaces (`flux-…`, `kit-…`) and only one side runs at a time, so the apiserver's counts are
 * attributable. kustomize-controller runs with its default `--concurrent=4`, gitops-kit with 4
 * passes at once (the Manager's default). The last line is one JSON object.
 */
import { type ChildProcess, execFile, fork, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeClient } from '@gitops-kit/k8s-target';
import { findAsset, startTestenv, type Testenv } from '@gitops-kit/testenv';
import { writeManifests } from './support/manifests.js';

const exec = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const UNITS = 100;
const NS = 'flux-system';
const seconds = (ms: number): number => Math.round(ms) / 1000;

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined>,
  every = 200,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** Sums every sample of a Prometheus counter in a text exposition. */
function sumCounter(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** The peak RSS (VmHWM) of a running process, MiB. */
function peakRssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

interface Phase {
  readonly ms: number;
  /** Requests counted by the side's own client(s). */
  readonly requests: number;
  /** The apiserver's `apiserver_request_total` over the phase, less the bench's own requests. */
  readonly apiserverRequests: number;
}

interface Side {
  first: Phase;
  noop: Phase;
  change: Phase;
  peakRssMiB: Record<string, number>;
}

class Bench {
  readonly env: Testenv;
  readonly work: string;
  readonly kube: NonNullable<Testenv['kube']>;
  readonly git: NonNullable<Testenv['git']>;
  /** The bench's own client: its requests are subtracted from the apiserver's count. */
  readonly client: KubeClient;
  readonly #kubectl = findAsset('kubectl');
  repoUrl = '';
  #pushUrl = '';
  #checkout = '';

  constructor(env: Testenv, work: string) {
    this.env = env;
    this.work = work;
    this.kube = env.kube as NonNullable<Testenv['kube']>;
    this.git = env.git as NonNullable<Testenv['git']>;
    this.client = KubeClient.fromKubeConfig(this.kube.kubeConfig());
  }

  async kubectl(...args: string[]): Promise<string> {
    const { stdout } = await exec(
      this.#kubectl,
      [...args, '--kubeconfig', this.kube.kubeconfigPath, '--cache-dir', join(this.work, 'kubectl-cache')],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    return stdout;
  }

  /** `apiserver_request_total` summed, read with the bench's client (one GET, subtracted). */
  async apiserverTotal(): Promise<number> {
    const text = await this.kubectl('get', '--raw', '/metrics');
    this.client.counters.requests++; // kubectl's GET of /metrics
    return sumCounter(text, 'apiserver_request_total');
  }

  async gitIn(...args: string[]): Promise<string> {
    const { stdout } = await exec(
      'git',
      ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args],
      { cwd: this.#checkout, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout.trim();
  }

  /** The repository: flux/ and kit/ trees of both shapes, one commit, pushed. */
  async createRepository(): Promise<void> {
    const repo = await this.git.createRepo('bench-flux');
    this.repoUrl = repo.url;
    const push = new URL(repo.url);
    push.username = 'bench';
    push.password = this.git.token;
    this.#pushUrl = push.toString();
    this.#checkout = await mkdtemp(join(this.work, 'checkout-'));
    await this.gitIn('init', '--quiet', '--initial-branch=main');
    for (const side of ['flux', 'kit']) {
      const apply = join(this.#checkout, side, 'apply');
      await mkdir(apply, { recursive: true });
      await writeManifests(apply, `${side}-a`);
      for (let u = 0; u < UNITS; u++) {
        const dir = join(this.#checkout, side, 'units', unitName(u));
        await mkdir(dir, { recursive: true });
        await writeManifests(dir, `${side}-${unitName(u)}`, { namespaces: 1, perKind: 3 });
      }
    }
    await this.commitAndPush('objects for both sides and both shapes');
  }

  async commitAndPush(message: string): Promise<string> {
    await this.gitIn('add', '-A');
    await this.gitIn('commit', '--quiet', '-m', message);
    await this.gitIn('push', '--quiet', this.#pushUrl, 'HEAD:main');
    return `main@sha1:${await this.gitIn('rev-parse', 'HEAD')}`;
  }

  /** Changes one ConfigMap in `folder` (relative to the checkout) and pushes; returns the revision. */
  async changeOneObject(folder: string, file: string): Promise<string> {
    const path = join(this.#checkout, folder, file);
    const text = await readFile(path, 'utf8');
    if (!text.includes('"mode": "production"'))
      throw new Error(`${folder}/${file} has no ConfigMap to change`);
    await writeFile(path, text.replace('"mode": "production"', '"mode": "staging"'));
    return this.commitAndPush(`one ConfigMap changed in ${folder}`);
  }
}

const unitName = (u: number): string => `unit-${String(u).padStart(3, '0')}`;

/** A Flux controller process and its metrics endpoint. */
interface Controller {
  readonly name: string;
  readonly child: ChildProcess;
  readonly metrics: string;
}

async function startController(
  bench: Bench,
  binary: string,
  name: string,
  extraArgs: string[],
): Promise<Controller> {
  const metricsPort = await freePort();
  const healthPort = await freePort();
  const log = openSync(join(bench.work, `${name}.log`), 'a');
  const child = spawn(
    binary,
    [
      `--metrics-addr=127.0.0.1:${metricsPort}`,
      `--health-addr=127.0.0.1:${healthPort}`,
      '--enable-leader-election=false',
      '--log-level=info',
      ...extraArgs,
    ],
    {
      env: { ...process.env, KUBECONFIG: bench.kube.kubeconfigPath, RUNTIME_NAMESPACE: NS },
      stdio: ['ignore', log, log],
    },
  );
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `${name} exited (${code ?? signal}); see ${join(bench.work, `${name}.log`)}`;
  });
  await until(`${name} to be ready`, 120_000, async () => {
    if (exited) throw new Error(exited);
    const ok = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    return ok ? true : undefined;
  });
  return { name, child, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
}

async function stopController(controller: Controller): Promise<void> {
  if (controller.child.exitCode !== null) return;
  const exited = new Promise((resolve) => controller.child.once('exit', resolve));
  controller.child.kill('SIGTERM');
  const timer = setTimeout(() => controller.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function clientRequests(controllers: readonly Controller[]): Promise<number> {
  let total = 0;
  for (const c of controllers)
    total += sumCounter(await (await fetch(c.metrics)).text(), 'rest_client_requests_total');
  return total;
}

interface FluxObject {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: {
    lastAppliedRevision?: string;
    lastHandledReconcileAt?: string;
    artifact?: { revision?: string };
    conditions?: { type: string; status: string }[];
  };
}

const ready = (o: FluxObject): boolean =>
  o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function applyObject(client: KubeClient, path: string, body: unknown): Promise<void> {
  await client.request({
    method: 'PATCH',
    path,
    query: { fieldManager: 'bench', force: 'true' },
    body,
    contentType: 'application/apply-patch+yaml',
  });
}

const KS_PATH = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${NS}/kustomizations`;
const GR_PATH = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/gitrepositories`;

/** Flux's side of one shape: fresh controllers, a GitRepository of its own, its Kustomizations. */
async function runFlux(
  bench: Bench,
  binaries: { source: string; kustomize: string },
  shape: 'a' | 'b',
  paths: readonly string[],
  changeIn: { folder: string; file: string },
): Promise<Side> {
  const storagePort = await freePort();
  const storage = await mkdtemp(join(bench.work, `flux-storage-${shape}-`));
  const source = await startController(bench, binaries.source, `source-controller-${shape}`, [
    `--storage-path=${storage}`,
    `--storage-addr=127.0.0.1:${storagePort}`,
    `--storage-adv-addr=127.0.0.1:${storagePort}`,
  ]);
  const kustomize = await startController(bench, binaries.kustomize, `kustomize-controller-${shape}`, []);
  const controllers = [source, kustomize];
  const { client } = bench;
  const repoName = `bench-${shape}`;
  const names = paths.map((_, i) => `${shape}-${String(i).padStart(3, '0')}`);
  const revision = `main@sha1:${await bench.gitIn('rev-parse', 'HEAD')}`;

  /** Lists this shape's Kustomizations (one request, the bench's own). */
  const list = async (): Promise<FluxObject[]> => {
    const answer = await client.request<{ items: FluxObject[] }>({
      method: 'GET',
      path: KS_PATH,
      query: { labelSelector: `bench-shape=${shape}` },
    });
    return answer.items;
  };
  /** Runs `work` and waits for `done`, measuring time and requests. */
  const phase = async (
    label: string,
    work: () => Promise<void>,
    done: (items: FluxObject[]) => boolean,
  ): Promise<Phase> => {
    const apiBefore = await bench.apiserverTotal();
    const clientBefore = await clientRequests(controllers);
    const ownBefore = client.counters.requests;
    const started = performance.now();
    await work();
    await until(`Flux ${label} (shape ${shape})`, 600_000, async () => {
      const items = await list();
      return items.length === names.length && items.every(ready) && done(items) ? true : undefined;
    });
    const ms = performance.now() - started;
    // Let in-flight requests land in the counters.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const requests = (await clientRequests(controllers)) - clientBefore;
    const own = client.counters.requests - ownBefore + 1; // + the /metrics read below
    const apiserverRequests = (await bench.apiserverTotal()) - apiBefore - own;
    console.log(
      `flux ${shape} ${label}: ${seconds(ms)} s, ${requests} requests (apiserver: ${apiserverRequests})`,
    );
    return { ms, requests, apiserverRequests };
  };

  try {
    const first = await phase(
      'first sync',
      async () => {
        await applyObject(client, `${GR_PATH}/${repoName}`, {
          apiVersion: 'source.toolkit.fluxcd.io/v1',
          kind: 'GitRepository',
          metadata: { name: repoName, namespace: NS },
          spec: {
            url: bench.repoUrl,
            ref: { branch: 'main' },
            interval: '60m',
            timeout: '120s',
            secretRef: { name: 'git-auth' },
          },
        });
        for (const [i, name] of names.entries()) {
          await applyObject(client, `${KS_PATH}/${name}`, {
            apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
            kind: 'Kustomization',
            metadata: { name, namespace: NS, labels: { 'bench-shape': shape } },
            spec: {
              interval: '60m',
              retryInterval: '10s',
              timeout: '5m',
              path: `./${paths[i]}`,
              prune: true,
              wait: false,
              sourceRef: { kind: 'GitRepository', name: repoName },
            },
          });
        }
      },
      (items) => items.every((o) => o.status?.lastAppliedRevision === revision),
    );

    const token = `noop-${Date.now()}`;
    const noop = await phase(
      'no-op',
      async () => {
        for (const name of names) {
          await client.request({
            method: 'PATCH',
            path: `${KS_PATH}/${name}`,
            body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': token } } },
            contentType: 'application/merge-patch+json',
          });
        }
      },
      (items) => items.every((o) => o.status?.lastHandledReconcileAt === token),
    );

    let changed = '';
    const change = await phase(
      shape === 'a' ? 'one changed object' : 'one change seen by all',
      async () => {
        changed = await bench.changeOneObject(changeIn.folder, changeIn.file);
        await client.request({
          method: 'PATCH',
          path: `${GR_PATH}/${repoName}`,
          body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `change-${Date.now()}` } } },
          contentType: 'application/merge-patch+json',
        });
      },
      (items) => items.every((o) => o.status?.lastAppliedRevision === changed),
    );

    const peakRssMiB = {
      'source-controller': peakRssOf(source.child.pid as number),
      'kustomize-controller': peakRssOf(kustomize.child.pid as number),
    };
    // Leave the objects alone when the next shape's controllers start.
    for (const name of names) {
      await client.request({
        method: 'PATCH',
        path: `${KS_PATH}/${name}`,
        body: { spec: { suspend: true } },
        contentType: 'application/merge-patch+json',
      });
    }
    await client.request({
      method: 'PATCH',
      path: `${GR_PATH}/${repoName}`,
      body: { spec: { suspend: true } },
      contentType: 'application/merge-patch+json',
    });
    return { first, noop, change, peakRssMiB };
  } finally {
    for (const c of controllers) await stopController(c);
  }
}

/** gitops-kit's side of one shape, in its own process (bench/flux/kit-side.mjs). */
async function runKit(
  bench: Bench,
  shape: 'a' | 'b',
  paths: readonly string[],
  changeIn: { folder: string; file: string },
): Promise<Side & { importRssMiB: number }> {
  const config = {
    repoUrl: bench.repoUrl,
    token: bench.git.token,
    cacheDir: await mkdtemp(join(bench.work, `kit-cache-${shape}-`)),
    concurrency: 4,
    units: paths.map((path, i) => ({ name: `kit-${shape}-${String(i).padStart(3, '0')}`, path })),
  };
  const child = fork(join(here, 'flux', 'kit-side.mjs'), [JSON.stringify(config)], {
    env: { ...process.env, KUBECONFIG: bench.kube.kubeconfigPath },
    // Plain node: not this process's `--import tsx`, whose loader would count in the child's RSS.
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: ((message: Record<string, unknown>) => void)[] = [];
  child.on('message', (message) => replies.shift()?.(message as Record<string, unknown>));
  const next = (): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      replies.push((message) =>
        message.ok ? resolve(message) : reject(new Error(`kit-side: ${String(message.error)}`)),
      );
      child.once('exit', (code) => reject(new Error(`kit-side exited (${code})`)));
    });
  try {
    const hello = await next();
    const { client } = bench;
    const phase = async (label: string, before?: () => Promise<void>): Promise<Phase> => {
      if (before) await before();
      const apiBefore = await bench.apiserverTotal();
      const ownBefore = client.counters.requests;
      const answer = next();
      child.send({ cmd: 'pass' });
      const result = await answer;
      const own = client.counters.requests - ownBefore + 1;
      const apiserverRequests = (await bench.apiserverTotal()) - apiBefore - own;
      const figures = {
        ms: result.ms as number,
        requests: result.requests as number,
        apiserverRequests,
      };
      const retries = result.retries as string[];
      if (retries.length > 0)
        console.log(`gitops-kit ${shape} ${label}: ${retries.length} passes retried: ${retries[0]}`);
      console.log(
        `gitops-kit ${shape} ${label}: ${seconds(figures.ms)} s, ${figures.requests} requests, ` +
          `${result.writes} writes (${result.objectWrites} to objects) (apiserver: ${apiserverRequests})`,
      );
      return figures;
    };
    const first = await phase('first sync');
    const noop = await phase('no-op');
    const change = await phase(shape === 'a' ? 'one changed object' : 'one change seen by all', async () => {
      await bench.changeOneObject(changeIn.folder, changeIn.file);
    });
    const bye = next();
    child.send({ cmd: 'exit' });
    const { peakRssMiB } = await bye;
    return {
      first,
      noop,
      change,
      peakRssMiB: { 'gitops-kit': peakRssMiB as number },
      importRssMiB: hello.importRssMiB as number,
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function buildFlux(): Promise<{ source: string; kustomize: string; crds: string[] }> {
  const started = performance.now();
  const { stdout, stderr } = await exec('bash', [join(here, 'flux', 'build-flux.sh')], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (stderr.trim()) console.log(stderr.trim());
  const [sourceDir, kustomizeDir] = stdout.trim().split('\n');
  if (!sourceDir || !kustomizeDir) throw new Error(`build-flux.sh printed no folders: ${stdout}`);
  console.log(
    `Flux controllers ready in ${seconds(performance.now() - started)} s: ${sourceDir}, ${kustomizeDir}`,
  );
  return {
    source: join(sourceDir, 'source-controller'),
    kustomize: join(kustomizeDir, 'kustomize-controller'),
    crds: [join(sourceDir, 'crds'), join(kustomizeDir, 'crds')],
  };
}

const row = (label: string, flux: string, kit: string): string =>
  `| ${label.padEnd(34)} | ${flux.padEnd(40)} | ${kit.padEnd(40)} |`;
const cell = (p: Phase): string => `${seconds(p.ms)} s, ${p.requests} req (apiserver ${p.apiserverRequests})`;

async function main(): Promise<void> {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const binaries = await buildFlux();
  const work = await mkdtemp(join(tmpdir(), 'gitops-kit-bench-flux-'));
  const env = await startTestenv({ kube: { bare: true }, git: true, s3: false, tools: false });
  try {
    const bench = new Bench(env, work);
    for (const dir of binaries.crds) await bench.kubectl('apply', '--server-side', '-f', dir);
    await bench.kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=120s');
    await bench.kubectl('create', 'namespace', NS);
    await bench.kubectl(
      'create',
      'secret',
      'generic',
      'git-auth',
      '-n',
      NS,
      '--from-literal=username=bench',
      `--from-literal=password=${bench.git.token}`,
    );
    await bench.createRepository();

    const shapes = [
      { shape: 'a' as const, label: '1 unit × 1,000 objects', paths: (side: string) => [`${side}/apply`] },
      {
        shape: 'b' as const,
        label: `${UNITS} units × 10 objects`,
        paths: (side: string) => Array.from({ length: UNITS }, (_, u) => `${side}/units/${unitName(u)}`),
      },
    ];
    const results: Record<string, { flux: Side; kit: Side & { importRssMiB: number } }> = {};
    for (const { shape, label, paths } of shapes) {
      console.log(`--- ${label}`);
      const change = (side: string) =>
        shape === 'a'
          ? { folder: `${side}/apply`, file: `${side}-a-3.yaml` }
          : { folder: `${side}/units/${unitName(0)}`, file: `${side}-${unitName(0)}-0.yaml` };
      const flux = await runFlux(bench, binaries, shape, paths('flux'), change('flux'));
      const kit = await runKit(bench, shape, paths('kit'), change('kit'));
      results[shape] = { flux, kit };
    }

    const a = results.a as (typeof results)[string];
    const b = results.b as (typeof results)[string];
    const endLoad = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log('');
    console.log(row('figure', 'Flux v1.9.6', 'gitops-kit'));
    console.log(row('---', '---', '---'));
    console.log(row('1 unit × 1,000: first sync', cell(a.flux.first), cell(a.kit.first)));
    console.log(row('no-op', cell(a.flux.noop), cell(a.kit.noop)));
    console.log(row('one changed object', cell(a.flux.change), cell(a.kit.change)));
    const rss = (s: Side): string =>
      Object.entries(s.peakRssMiB)
        .map(([k, v]) => `${k} ${v} MiB`)
        .join(' + ');
    console.log(row('peak RSS', rss(a.flux), `${rss(a.kit)} (${a.kit.importRssMiB} after imports)`));
    console.log(row(`${UNITS} units × 10: first sync`, cell(b.flux.first), cell(b.kit.first)));
    console.log(row(`no-op of all ${UNITS}`, cell(b.flux.noop), cell(b.kit.noop)));
    console.log(row(`one change seen by all ${UNITS}`, cell(b.flux.change), cell(b.kit.change)));
    console.log(row('peak RSS', rss(b.flux), `${rss(b.kit)} (${b.kit.importRssMiB} after imports)`));
    console.log(`load average at start ${load}, at end ${endLoad}`);
    const figures = (p: Phase) => ({
      s: seconds(p.ms),
      requests: p.requests,
      apiserver: p.apiserverRequests,
    });
    const side = (s: Side) => ({
      firstSync: figures(s.first),
      noop: figures(s.noop),
      change: figures(s.change),
      peakRssMiB: s.peakRssMiB,
    });
    console.log(
      JSON.stringify({
        fluxVersion: 'v1.9.6',
        loadAverage: { start: load, end: endLoad },
        oneUnit1000: { flux: side(a.flux), kit: { ...side(a.kit), importRssMiB: a.kit.importRssMiB } },
        units100x10: { flux: side(b.flux), kit: { ...side(b.kit), importRssMiB: b.kit.importRssMiB } },
        firstSyncSpeedup: {
          oneUnit1000: Math.round((a.flux.first.ms / a.kit.first.ms) * 100) / 100,
          units100x10: Math.round((b.flux.first.ms / b.kit.first.ms) * 100) / 100,
        },
      }),
    );
  } finally {
    await env.stop();
    if (!process.env.BENCH_FLUX_KEEP) await rm(work, { recursive: true, force: true });
    else console.log(`work folder kept: ${work}`);
  }
}

await main();
