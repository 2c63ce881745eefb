// The measured side of `pnpm bench:scale` and `pnpm bench:units`' memory figures: one process that
// imports only the built packages (plain Node, no TypeScript loader, so its RSS is the library's),
// reconciles one unit from a folder three times (first sync, no-op, one change) and prints one JSON
// line per pass and a last JSON line with its peak RSS. The KubeConfig comes from $KUBECONFIG.
//
//   node bench/scale-unit.mjs <manifest-dir> <file-to-change>
import { readFile, writeFile } from 'node:fs/promises';

const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
const peakMiB = () => mib(process.resourceUsage().maxRSS * 1024);

const [dir, changeFile] = process.argv.slice(2);
if (!dir || !changeFile) throw new Error('usage: scale-unit.mjs <manifest-dir> <file-to-change>');

const { DirectorySource, RawRenderer, Reconciler } = await import('../packages/core/dist/index.js');
const { KubernetesTarget } = await import('../packages/k8s-target/dist/index.js');
const rssAfterImportMiB = mib(process.memoryUsage.rss());

// The default credentials ($KUBECONFIG), so client-node is not loaded for a plain kubeconfig.
const target = new KubernetesTarget({ name: 'scale' });
const reconciler = new Reconciler({
  target,
  stateStore: target.stateStore({ namespace: 'kube-system' }),
  source: new DirectorySource({ path: dir }),
  renderer: new RawRenderer(),
  name: 'scale',
});
const counters = target.client.counters;

async function pass(label) {
  target.client.resetCounters();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await reconciler.reconcile();
  const ms = Math.round(performance.now() - started);
  const used = process.cpuUsage(cpu);
  if (result.outcome !== 'succeeded') {
    throw new Error(`${label}: ${result.outcome}: ${result.message} ${result.error?.message ?? ''}`);
  }
  const figures = {
    pass: label,
    ms,
    // CPU time of this process: on a shared machine wall time also counts waiting for a core.
    cpuMs: Math.round((used.user + used.system) / 1000),
    requests: counters.requests,
    writes: counters.writes,
    objectWrites: result.writes,
    rssMiB: mib(process.memoryUsage.rss()),
    peakRssMiB: peakMiB(),
  };
  console.log(JSON.stringify(figures));
  return figures;
}

const first = await pass('first');
const noop = await pass('noop');
await writeFile(
  changeFile,
  (await readFile(changeFile, 'utf8')).replace('mode: production', 'mode: staging'),
);
const change = await pass('change');
globalThis.gc?.();
console.log(
  JSON.stringify({
    rssAfterImportMiB,
    peakRssMiB: peakMiB(),
    retainedHeapMiB: globalThis.gc ? mib(process.memoryUsage().heapUsed) : undefined,
    first,
    noop,
    change,
  }),
);
