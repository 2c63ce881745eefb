// The measured side of `pnpm bench:units`: one plain-Node process over the built packages runs a
// Manager of N reconcilers, each one unit (ServiceAccount, Service, Deployment, Ingress) in its own
// namespace, all reading one shared source and renderer (fetched and rendered once per revision),
// all through one HTTP client. It prints one JSON line: time until every reconciler was Ready
// (Deployments available: health waited for), peak RSS, and API requests per minute at rest.
//
//   node bench/units-manager.mjs <unit-dir> <units> <rest-seconds> <interval-seconds>
const [dir, unitsArg, restArg, intervalArg] = process.argv.slice(2);
const units = Number(unitsArg);
const restS = Number(restArg);
const intervalMs = Number(intervalArg) * 1000;

const core = await import('../packages/core/dist/index.js');
const { KubernetesTarget } = await import('../packages/k8s-target/dist/index.js');
const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const source = core.shareSource(new core.DirectorySource({ path: dir }), { freshForMs: intervalMs });
const renderer = core.shareRenderer(new core.RawRenderer());
const manager = new core.Manager({ concurrency: 16 });
let client;
for (let i = 0; i < units; i++) {
  const namespace = `unit-${i}`;
  const target = new KubernetesTarget({
    name: namespace,
    targetNamespace: namespace,
    ...(client ? { client } : {}),
  });
  client ??= target.client;
  manager.add(
    new core.Reconciler({
      name: namespace,
      source,
      renderer,
      target,
      stateStore: target.stateStore({ namespace }),
      wait: true,
      interval: intervalMs,
      healthTimeout: 30 * 60_000,
      timeout: 40 * 60_000,
    }),
  );
}

const ready = () =>
  Object.values(manager.statuses()).filter((s) => core.getCondition(s, 'Ready')?.status === 'True').length;
const started = performance.now();
manager.start();
let lastReport = 0;
for (;;) {
  const count = ready();
  if (count === units) break;
  if (performance.now() - lastReport > 10_000) {
    lastReport = performance.now();
    process.stderr.write(
      `  ${count}/${units} Ready after ${Math.round((performance.now() - started) / 1000)} s\n`,
    );
    // Why the last few are not Ready (a stall shows its reason rather than a silent wait).
    if (count >= units * 0.95) {
      for (const [name, status] of Object.entries(manager.statuses())) {
        const condition = core.getCondition(status, 'Ready');
        if (condition?.status !== 'True') {
          process.stderr.write(
            `    ${name}: ${condition?.reason ?? 'no condition'}: ${condition?.message ?? ''}\n`,
          );
        }
      }
    }
  }
  await sleep(250);
}
const readyMs = Math.round(performance.now() - started);
const syncRequests = client.counters.requests;
const peakAtReadyMiB = mib(process.resourceUsage().maxRSS * 1024);

process.stderr.write(`  all ${units} Ready after ${Math.round(readyMs / 1000)} s; ${restS} s at rest\n`);
client.resetCounters();
await sleep(restS * 1000);
const restRequests = client.counters.requests;
await manager.stop({ abort: true });
console.log(
  JSON.stringify({
    units,
    readyMs,
    syncRequests,
    peakAtReadyMiB,
    peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
    restSeconds: restS,
    restRequestsPerMinute: Math.round((restRequests / restS) * 60),
  }),
);
