/**
 * `pnpm demo:cluster`: the quickstart story on a living cluster that testenv starts on this machine
 * (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and kwok playing the kubelets of
 * three fake Nodes). After each reconcile it prints what the cluster's own controllers did: the
 * ReplicaSets the deployment controller created and scaled, and the Pods that became Ready. Exits 0
 * when the bad rollout was rolled back and the old ReplicaSet serves again.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testenv } from '@gitops-kit/testenv';
import { runQuickstart } from '../../quickstart/src/quickstart.js';
import { ControllerLog } from './controller-log.js';

const APP = fileURLToPath(new URL('../../quickstart/app', import.meta.url));
// The sample gives a bad rollout 30 s; here it fails after 10 s, which is plenty for kwok's nodes.
const PROGRESS_DEADLINE_SECONDS = 10;

const seconds = (ms: number | undefined): string => `${((ms ?? 0) / 1000).toFixed(1)} s`;

/** A copy of the quickstart's sample app with a shorter progress deadline. */
async function sampleApp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gitops-kit-cluster-demo-'));
  await cp(APP, dir, { recursive: true });
  const file = join(dir, 'deployment.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(
    file,
    text.replace(/progressDeadlineSeconds: \d+/, `progressDeadlineSeconds: ${PROGRESS_DEADLINE_SECONDS}`),
  );
  return dir;
}

console.log('Starting a living cluster with testenv (the binaries come from `pnpm provision`)…');
const kube = await testenv.kube();
const s = kube.startup;
console.log(
  kube.existingCluster
    ? `Using the existing cluster ${kube.server} (${kube.version}), USE_EXISTING_CLUSTER=true.`
    : [
        `Ready in ${seconds(kube.startupMs)}: etcd ${kube.etcdVersion} (${seconds(s?.etcdMs)}), kube-apiserver ${kube.version} (${seconds(s?.apiserverMs)}),`,
        `  kube-controller-manager (${seconds(s?.controllerManagerMs)}), kube-scheduler (${seconds(s?.schedulerMs)}), kwok ${kube.kwokVersion} with Nodes ${kube.nodes.join(', ')} (${seconds(s?.kwokMs)}).`,
      ].join('\n'),
);
console.log('');

const log = new ControllerLog(kube.kubeConfig(), 'demo-shop');
await log.start();
const appDir = await sampleApp();
process.env.KUBECONFIG = kube.kubeconfigPath;
let told = false;
// The story is written synchronously; a reconcile's end also lists the namespace (asynchronously),
// so lines go through one ordered queue and the report comes out just above its `Result:` line.
let printing: Promise<void> = Promise.resolve();
const print = (line: string | (() => Promise<string[]>)): void => {
  printing = printing.then(async () => {
    for (const l of typeof line === 'string' ? [line] : await line()) console.log(l);
  });
};
try {
  const outcome = await runQuickstart({
    cluster: 'kubernetes',
    appDir,
    write: (line) => {
      if (line.startsWith('Result:')) {
        // The reconcile has ended (it waited for health): what did the controllers do for it?
        const snapshot = log.snapshot();
        print(async () => {
          const lines = log.report(await snapshot);
          return [
            '  ⚙ what the cluster did:',
            ...(lines.length > 0 ? lines : ['nothing new']).map((l) => `      ${l}`),
          ];
        });
      }
      print(line);
    },
  });
  await printing;
  console.log('');
  console.log('ReplicaSets at the end (the deployment controller keeps the old ones, scaled to 0):');
  const { replicaSets } = await log.snapshot();
  for (const rs of replicaSets)
    console.log(`    ${rs.name}  ${rs.image.padEnd(22)} ${rs.ready}/${rs.desired} Ready`);
  const good = replicaSets.find((rs) => rs.image === 'nginx:1.27');
  const bad = replicaSets.find((rs) => rs.image.endsWith(':does-not-exist'));
  told =
    outcome.rolledBackRevision !== undefined &&
    outcome.finalImage === 'nginx:1.27' &&
    good !== undefined &&
    good.desired === outcome.finalReplicas &&
    good.ready === good.desired &&
    bad?.desired === 0;
  if (told) {
    console.log(
      `\nThe rollback was real: ReplicaSet ${good?.name} (nginx:1.27) serves ${good?.ready} Ready Pods again, ${bad?.name} is at 0.`,
    );
  }
} finally {
  await printing.catch(() => {});
  log.stop();
  await rm(appDir, { recursive: true, force: true });
  await testenv.stop();
}
if (!told) {
  console.error('\nThe story did not go as told on the living cluster (see above).');
  process.exitCode = 1;
}
