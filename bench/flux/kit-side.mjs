/**
 * gitops-kit's side of `pnpm bench:flux`, in a process of its own so that its peak RSS is its own
 * (the bench process also hosts the Git server). It imports the built packages (`dist`), as a
 * program using them would, and is driven over IPC by bench/flux.bench.ts:
 *
 *   argv[2]  JSON: { repoUrl, token, cacheDir, concurrency, units: [{ name, path }] }
 *   KUBECONFIG  the apiserver
 *   message { cmd: 'pass' }  one pass of every unit (at most `concurrency` at once); answers
 *                            { ms, requests, writes, objectWrites, retries }
 *   message { cmd: 'exit' }  answers { peakRssMiB } and exits
 *
 * Each unit is a Reconciler (GitSource of the unit's folder, RawRenderer, KubernetesTarget,
 * inventory in a ConfigMap), health waits off; the units share one KubeClient (its counters are
 * the requests of all of them) and one GitSource cache folder (one clone of the repository).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { RawRenderer, Reconciler } from '../../packages/core/dist/index.js';
import { GitSource } from '../../packages/git-source/dist/index.js';
import { KubeClient, KubernetesTarget } from '../../packages/k8s-target/dist/index.js';

const requireFromTarget = createRequire(new URL('../../packages/k8s-target/package.json', import.meta.url));
const { KubeConfig } = await import(pathToFileURL(requireFromTarget.resolve('@kubernetes/client-node')).href);

const importRssMiB = Math.round(process.memoryUsage().rss / (1024 * 1024));
const config = JSON.parse(process.argv[2] ?? '{}');
const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const client = KubeClient.fromKubeConfig(kubeConfig);

const reconcilers = config.units.map((unit) => {
  const target = new KubernetesTarget({ name: unit.name, client });
  return new Reconciler({
    name: unit.name,
    source: new GitSource({
      url: config.repoUrl,
      ref: { branch: 'main' },
      path: unit.path,
      cacheDir: config.cacheDir,
      auth: { bearerToken: config.token },
    }),
    renderer: new RawRenderer(),
    target,
    stateStore: target.stateStore({ namespace: 'default' }),
  });
});

/** One pass of every unit, `concurrency` at a time (the Manager's default is 4, as kustomize-controller's). */
async function passAll() {
  client.resetCounters();
  const started = performance.now();
  let next = 0;
  let objectWrites = 0;
  const failures = [];
  const retries = [];
  const worker = async () => {
    while (next < reconcilers.length) {
      const reconciler = reconcilers[next++];
      let result = await reconciler.reconcile();
      // A busy apiserver answers 429 while a watch cache (re)initializes; client-go (Flux) retries
      // those itself, KubeClient does not: retry the pass, as the Manager would, time included.
      for (
        let retry = 0;
        retry < 5 && result.outcome === 'failed' && /TooManyRequests/.test(result.message);
        retry++
      ) {
        retries.push(`${reconciler.name}: ${result.message.slice(0, 120)}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        result = await reconciler.reconcile();
      }
      if (result.outcome !== 'succeeded') {
        failures.push(
          `${reconciler.name}: ${result.outcome}: ${result.message} ${result.error?.message ?? ''}`,
        );
      }
      objectWrites += result.writes ?? 0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.concurrency, reconcilers.length) }, worker));
  const ms = performance.now() - started;
  if (failures.length > 0) throw new Error(failures.slice(0, 3).join('\n'));
  return { ms, requests: client.counters.requests, writes: client.counters.writes, objectWrites, retries };
}

process.on('message', (message) => {
  if (message.cmd === 'pass') {
    passAll().then(
      (figures) => process.send({ ok: true, ...figures }),
      (error) => process.send({ ok: false, error: String(error?.stack ?? error) }),
    );
  } else if (message.cmd === 'exit') {
    process.send({ ok: true, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }, () =>
      process.exit(0),
    );
  }
});
process.send({ ok: true, ready: true, importRssMiB });
