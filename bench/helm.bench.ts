/**
 * `pnpm bench:helm`: a chart from a chart repository, gitops-kit against the Helm CLI on the same
 * chart, the same repository server and the same run.
 *
 *   - first pull and render of a chart with two dependencies (packaged with a Chart.lock and no
 *     charts/, as `helm package` leaves a chart after `helm dependency update` and a clean-up):
 *     HelmChartSource.fetch + HelmRenderer with HelmDependencyResolver (fresh caches), versus
 *     `helm repo add` + `helm pull --untar` + `helm dependency build` + `helm template` (fresh
 *     Helm folders);
 *   - a no-change poll: HelmChartSource.fetch with the previous artifact (a conditional index GET),
 *     versus `helm repo update` (what a Helm user or CI runs to see a new version; Flux's
 *     HelmRepository downloads the index the same way);
 *   - a second render of the same chart from the dependency cache (a new renderer, no render cache);
 *   - the same chart pushed with `helm push` to a registry: a no-change poll of `oci://` at an exact
 *     version (one manifest HEAD) against `helm pull oci://` (which downloads the chart every time;
 *     the registry keeps no request log, so the peer's bytes are the archive's size, a lower bound).
 *
 * (`helm package` refuses a chart without its dependencies, so the archive is packed again without
 * charts/.) Requests and bytes are counted by the repository server itself, for both sides alike. Each time
 * is the median of RUNS runs, the two sides run alternately. The last line is one JSON object.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HelmRenderer } from '@gitops-kit/core';
import { HelmChartSource, HelmDependencyResolver } from '@gitops-kit/registry-source';
import { helmEnv as privateHelmEnv, startChartRepository, startRegistry, testenv } from '@gitops-kit/testenv';
import { writeChart } from '../packages/registry-source/test/support/charts.js';

const exec = promisify(execFile);
const RUNS = Number(process.env.RUNS ?? 5);
const signal = new AbortController().signal;

function middle(times: number[]): number {
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 10) / 10;
}

const tools = await testenv.tools();
const work = await mkdtemp(join(tmpdir(), 'helm-bench-'));
const repo = await startChartRepository();

function helmEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...privateHelmEnv(home) };
}
const helm = async (home: string, args: string[], cwd?: string): Promise<string> =>
  (await exec(tools.helm, args, { env: helmEnv(home), cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;

/** Requests and body bytes the server answered while `fn` ran. */
async function counted<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; ms: number; requests: number; bytes: number }> {
  const before = repo.requests.length;
  const start = performance.now();
  const value = await fn();
  const ms = performance.now() - start;
  const seen = repo.requests.slice(before);
  return { value, ms, requests: seen.length, bytes: seen.reduce((sum, r) => sum + r.bytes, 0) };
}

try {
  // Two dependencies with some weight, and a few hundred other charts in the index (a real
  // repository's index is large: that is what a poll costs the peer).
  const big = Array.from({ length: 40 }, (_, i) => `  line-${i}: "${'x'.repeat(60)}"`).join('\n');
  for (const name of ['redis', 'postgresql']) {
    await repo.publish(
      await writeChart(join(work, 'src'), {
        name,
        version: '1.2.0',
        files: {
          'templates/extra.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-${name}-extra\ndata:\n${big}\n`,
        },
      }),
    );
  }
  for (let i = 0; i < 300; i++) {
    await writeChart(join(work, 'filler'), { name: `filler-${i}`, version: '0.1.0' });
  }
  await exec(
    tools.helm,
    [
      'package',
      ...Array.from({ length: 300 }, (_, i) => join(work, 'filler', `filler-${i}`)),
      '--destination',
      repo.dir,
    ],
    {
      env: helmEnv(join(work, 'pack-home')),
    },
  );
  const appDir = await writeChart(join(work, 'src'), {
    name: 'app',
    version: '1.0.0',
    dependencies: [
      { name: 'redis', version: '^1.0.0', repository: repo.url },
      { name: 'postgresql', version: '~1.2.0', repository: repo.url },
    ],
  });
  const packHome = join(work, 'pack-home');
  await helm(packHome, ['repo', 'add', 'bench', repo.url]);
  await helm(packHome, ['dependency', 'update', appDir]);
  // `helm package` insists on charts/: package, then take charts/ out of the archive and index again.
  const archive = await repo.publish(appDir);
  const unpacked = join(work, 'unpacked');
  await mkdir(unpacked, { recursive: true });
  await exec('tar', ['-xzf', archive, '-C', unpacked]);
  await rm(join(unpacked, 'app', 'charts'), { recursive: true, force: true });
  await exec('tar', ['-czf', archive, '-C', unpacked, 'app']);
  await repo.reindex();

  const first = { ours: [] as number[], peer: [] as number[] };
  const poll = { ours: [] as number[], peer: [] as number[] };
  const cachedRender: number[] = [];
  let oursFirst = { requests: 0, bytes: 0 };
  let peerFirst = { requests: 0, bytes: 0 };
  let oursPoll = { requests: 0, bytes: 0 };
  let peerPoll = { requests: 0, bytes: 0 };
  let objects = 0;
  let peerObjects = 0;

  for (let run = 0; run <= RUNS; run++) {
    const dir = join(work, `run-${run}`);
    await mkdir(dir, { recursive: true });
    // gitops-kit: source + renderer with a dependency resolver, fresh caches.
    const source = new HelmChartSource({
      url: repo.url,
      chart: 'app',
      version: '^1.0.0',
      cacheDir: join(dir, 'source'),
    });
    const resolver = new HelmDependencyResolver({ cacheDir: join(dir, 'deps') });
    const ours = await counted(async () => {
      const artifact = await source.fetch({ signal });
      const manifests = await new HelmRenderer({
        binary: tools.helm,
        releaseName: 'bench',
        dependencies: resolver,
      }).render(artifact, { signal });
      return { artifact, manifests };
    });
    // The Helm CLI, fresh folders.
    const home = join(dir, 'helm');
    const peer = await counted(async () => {
      await helm(home, ['repo', 'add', 'bench', repo.url]);
      await helm(home, [
        'pull',
        'bench/app',
        '--version',
        '^1.0.0',
        '--untar',
        '--untardir',
        join(dir, 'pulled'),
      ]);
      await helm(home, ['dependency', 'build', join(dir, 'pulled', 'app')]);
      return helm(home, ['template', 'bench', join(dir, 'pulled', 'app')]);
    });
    const oursPolled = await counted(() => source.fetch({ signal, previous: ours.value.artifact }));
    if (oursPolled.value !== ours.value.artifact)
      throw new Error('the no-change poll returned another artifact');
    const peerPolled = await counted(() => helm(home, ['repo', 'update', 'bench']));
    const again = await counted(() =>
      new HelmRenderer({
        binary: tools.helm,
        releaseName: 'bench',
        dependencies: new HelmDependencyResolver({ cacheDir: join(dir, 'deps') }),
      }).render(ours.value.artifact, { signal }),
    );
    if (again.requests !== 0) throw new Error(`the cached render made ${again.requests} requests`);
    if (run === 0) continue; // warm-up
    first.ours.push(ours.ms);
    first.peer.push(peer.ms);
    poll.ours.push(oursPolled.ms);
    poll.peer.push(peerPolled.ms);
    cachedRender.push(again.ms);
    oursFirst = ours;
    peerFirst = peer;
    oursPoll = oursPolled;
    peerPoll = peerPolled;
    objects = ours.value.manifests.length;
    peerObjects = (peer.value.match(/^kind: /gm) ?? []).length;
    await rm(dir, { recursive: true, force: true });
  }
  if (objects !== peerObjects) throw new Error(`gitops-kit rendered ${objects} objects, helm ${peerObjects}`);

  // The same chart on an OCI registry, pushed with the real helm.
  const registry = await startRegistry(join(work, 'registry'), { tls: false, auth: false });
  const ociPoll = { ours: [] as number[], peer: [] as number[] };
  let ociOurs = { requests: 0, bytes: 0 };
  let ociArchive = 0;
  try {
    const pushHome = join(work, 'push-home');
    const packaged = join(repo.dir, 'app-1.0.0.tgz');
    await helm(pushHome, ['push', packaged, `oci://${registry.info.host}/charts`, '--plain-http']);
    ociArchive = (await stat(packaged)).size;
    const oci = new HelmChartSource({
      url: `oci://${registry.info.host}/charts/app`,
      version: '1.0.0',
      plainHttp: true,
      cacheDir: join(work, 'oci-source'),
    });
    const current = await oci.fetch({ signal });
    for (let run = 0; run <= RUNS; run++) {
      const before = oci.stats();
      const start = performance.now();
      if ((await oci.fetch({ signal, previous: current })) !== current)
        throw new Error('the OCI poll returned another artifact');
      const ms = performance.now() - start;
      const after = oci.stats();
      const pulled = join(work, `oci-pull-${run}`);
      await mkdir(pulled, { recursive: true });
      const peerStart = performance.now();
      await helm(join(work, 'oci-home'), [
        'pull',
        `oci://${registry.info.host}/charts/app`,
        '--version',
        '1.0.0',
        '--plain-http',
        '--destination',
        pulled,
      ]);
      const peerMs = performance.now() - peerStart;
      if ((await readdir(pulled)).length !== 1) throw new Error('helm pull oci:// wrote no archive');
      if (run === 0) continue;
      ociPoll.ours.push(ms);
      ociPoll.peer.push(peerMs);
      ociOurs = { requests: after.requests - before.requests, bytes: after.bytes - before.bytes };
    }
  } finally {
    await registry.stop();
  }

  const results = {
    runs: RUNS,
    helm: tools.versions.helm,
    objects,
    indexCharts: 303,
    'first.gitopsKitMs': middle(first.ours),
    'first.helmCliMs': middle(first.peer),
    'first.gitopsKitRequests': oursFirst.requests,
    'first.gitopsKitBytes': oursFirst.bytes,
    'first.helmCliRequests': peerFirst.requests,
    'first.helmCliBytes': peerFirst.bytes,
    'poll.gitopsKitMs': middle(poll.ours),
    'poll.helmCliMs': middle(poll.peer),
    'poll.gitopsKitRequests': oursPoll.requests,
    'poll.gitopsKitBytes': oursPoll.bytes,
    'poll.helmCliRequests': peerPoll.requests,
    'poll.helmCliBytes': peerPoll.bytes,
    'cachedRender.gitopsKitMs': middle(cachedRender),
    'ociPoll.gitopsKitMs': middle(ociPoll.ours),
    'ociPoll.helmPullMs': middle(ociPoll.peer),
    'ociPoll.gitopsKitRequests': ociOurs.requests,
    'ociPoll.gitopsKitBytes': ociOurs.bytes,
    'ociPoll.helmPullMinBytes': ociArchive,
  };
  const line = (what: string, ours: string, peer: string): void =>
    console.log(`${what.padEnd(38)} gitops-kit ${ours.padStart(24)}   helm CLI ${peer.padStart(24)}`);
  line(
    'first pull + 2 deps + render',
    `${results['first.gitopsKitMs']} ms`,
    `${results['first.helmCliMs']} ms`,
  );
  line(
    '  requests / bytes',
    `${oursFirst.requests} / ${oursFirst.bytes}`,
    `${peerFirst.requests} / ${peerFirst.bytes}`,
  );
  line('no-change poll', `${results['poll.gitopsKitMs']} ms`, `${results['poll.helmCliMs']} ms`);
  line(
    '  requests / bytes per poll',
    `${oursPoll.requests} / ${oursPoll.bytes}`,
    `${peerPoll.requests} / ${peerPoll.bytes}`,
  );
  line('render again, dependencies cached', `${results['cachedRender.gitopsKitMs']} ms (0 requests)`, '-');
  line(
    'oci:// no-change poll (helm pull)',
    `${results['ociPoll.gitopsKitMs']} ms`,
    `${results['ociPoll.helmPullMs']} ms`,
  );
  line('  requests / bytes per poll', `${ociOurs.requests} / ${ociOurs.bytes}`, `? / >= ${ociArchive}`);
  console.log(JSON.stringify(results));
} finally {
  await repo.close();
  await rm(work, { recursive: true, force: true });
  await testenv.stop();
}
