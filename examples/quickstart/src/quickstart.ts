import {
  DirectorySource,
  formatPlan,
  formatRef,
  type HistoryEntry,
  type ObjectRef,
  RawRenderer,
  type ReconcileResult,
  Reconciler,
  type ReconcilerEventName,
  type ReconcilerListener,
} from '@gitops-kit/core';
import { AppFolder } from './app-folder.js';
import { type DemoCluster, fakeCluster, kubernetesCluster } from './clusters.js';
import { type LineWriter, Narrator, shortRevision } from './narrator.js';

/** Options of {@link runQuickstart}. */
export interface QuickstartOptions {
  /** Where the story goes (default `console.log`). */
  readonly write?: LineWriter;
  /** `fake` (default when `KUBECONFIG` is unset) or `kubernetes`. */
  readonly cluster?: 'fake' | 'kubernetes';
  /** The sample app to copy (default `examples/quickstart/app`). */
  readonly appDir?: string;
  /** How long the health wait lasts, in milliseconds (default: 2 s for the fake cluster, 60 s for a real one). */
  readonly healthTimeout?: number;
}

/** What happened, for the test that keeps the demo honest. */
export interface QuickstartOutcome {
  /** Each step's reconcile result, in order. */
  readonly results: readonly ReconcileResult[];
  /** Every reconciler event, in order. */
  readonly events: readonly ReconcilerEventName[];
  /** The revision applied at the end (the good one, after the rollback). */
  readonly finalRevision: string | undefined;
  /** The revision that was rolled back. */
  readonly rolledBackRevision: string | undefined;
  /** Replicas and image of the Deployment at the end, read from the cluster. */
  readonly finalReplicas: unknown;
  readonly finalImage: unknown;
  /** The audit trail, newest first. */
  readonly history: readonly HistoryEntry[];
}

const WEB: ObjectRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'demo-shop', name: 'web' };
const CONFIG: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'demo-shop', name: 'web-config' };

const PDB = `# Keep at least one web pod up during node maintenance.
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: demo-shop
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: web
`;

/** Reads `spec.replicas` and the first container image of a Deployment. */
function deploymentShape(object: unknown): { replicas: unknown; image: unknown } {
  const spec = (
    object as { spec?: { replicas?: unknown; template?: { spec?: { containers?: { image?: unknown }[] } } } }
  )?.spec;
  return { replicas: spec?.replicas, image: spec?.template?.spec?.containers?.[0]?.image };
}

/**
 * The quickstart, as a function: syncs the sample app folder into a cluster, changes the folder
 * and shows the plan, reverts a change made by hand, and rolls back a rollout that fails. It
 * prints the story and returns what happened.
 */
export async function runQuickstart(options: QuickstartOptions = {}): Promise<QuickstartOutcome> {
  const say = new Narrator(options.write);
  const useKubernetes =
    (options.cluster ?? (process.env.KUBECONFIG ? 'kubernetes' : 'fake')) === 'kubernetes';
  const cluster: DemoCluster = useKubernetes ? await kubernetesCluster() : fakeCluster();
  const folder = await AppFolder.create(options.appDir);
  const source = new DirectorySource({ path: folder.dir });
  const reconciler = new Reconciler({
    name: 'quickstart',
    source,
    renderer: new RawRenderer(),
    target: cluster.target,
    wait: true,
    rollback: true,
    healthPollInterval: cluster.healthPollInterval,
    healthTimeout: options.healthTimeout ?? cluster.healthTimeout,
  });
  const events: ReconcilerEventName[] = [];
  const results: ReconcileResult[] = [];
  let rolledBackRevision: string | undefined;

  const record = <K extends ReconcilerEventName>(name: K, print?: ReconcilerListener<K>) =>
    reconciler.on(name, (payload) => {
      events.push(name);
      return print?.(payload);
    });
  record('fetched', (e) => say.detail(`fetched revision ${shortRevision(e.revision)}`, '  · '));
  record('rendered', (e) => say.detail(`rendered ${e.manifests} objects from the YAML files`, '  · '));
  record('planned');
  record('drifted', (e) =>
    say.detail(`drift: ${e.objects.map(formatRef).join(', ')} changed outside gitops-kit`, '  · '),
  );
  record('applied', (e) =>
    say.detail(
      `applied: ${e.summary.create} created, ${e.summary.update} updated, ${e.summary.unchanged} unchanged (${e.writes} write${e.writes === 1 ? '' : 's'})`,
      '  · ',
    ),
  );
  record('pruned', (e) => {
    if (e.result.deleted.length > 0)
      say.detail(`pruned ${e.result.deleted.map(formatRef).join(', ')}`, '  · ');
  });
  record('healthy', (e) => say.detail(`healthy: all ${e.report.objects.length} objects are Current`, '  · '));
  record('unhealthy', (e) => {
    say.detail(`UNHEALTHY: ${e.message}`, '  · ');
    say.detail('rolling back: the last healthy revision is applied again', '  · ');
  });
  record('rolledBack', (e) => {
    rolledBackRevision = e.from;
    say.detail(`rolled back ${shortRevision(e.from)} → ${shortRevision(e.to)}`, '  · ');
  });
  record('failed', (e) => say.detail(`failed at ${e.stage}: ${e.error.message}`, '  · '));
  record('status');

  const reconcile = async (): Promise<ReconcileResult> => {
    const result = await reconciler.reconcile();
    results.push(result);
    say.say(`Result: ${result.outcome}, applied revision ${shortRevision(result.appliedRevision)}.`);
    return result;
  };

  try {
    say.title('gitops-kit quickstart');
    say.say(`Desired state: a copy of the sample app in ${folder.dir}`);
    say.say(`Target:        ${cluster.description}`);
    if (!useKubernetes) say.say('               (set KUBECONFIG to reconcile into a real cluster instead)');

    say.step('First sync: the folder is applied to the cluster');
    const first = await reconcile();
    if (first.outcome !== 'succeeded') {
      say.say('The first sync did not succeed, so the rest of the story cannot be told.');
      if (useKubernetes)
        say.say('A real cluster needs its controllers running for the Deployment to become ready.');
      return outcome();
    }
    say.say('The cluster now holds:');
    for (const entry of reconciler.status.inventory.entries) say.detail(formatRef(entry.ref));

    say.step(
      'Someone edits the folder: scale to 3, add a setting and a PodDisruptionBudget, drop legacy.yaml',
    );
    await folder.replace('deployment.yaml', 'replicas: 1', 'replicas: 3');
    await folder.replace('config.yaml', '  theme: light\n', '  theme: light\n  checkout: enabled\n');
    await folder.write('pdb.yaml', PDB);
    await folder.remove('legacy.yaml');
    say.say('Before anything is written, the plan shows what will change:');
    say.detail(formatPlan(await reconciler.plan()));
    say.say('Applying it:');
    await reconcile();

    say.step('Someone changes the cluster by hand (kubectl scale, kubectl edit)');
    await cluster.editByHand(WEB, { spec: { replicas: 10 } });
    await cluster.editByHand(CONFIG, { data: { greeting: 'hacked' } });
    say.say(
      `The live Deployment now has ${String(deploymentShape(await cluster.read(WEB)).replicas)} replicas.`,
    );
    say.say('The next reconcile finds the drift:');
    say.detail(formatPlan(await reconciler.plan()));
    await reconcile();
    say.say(
      `Drift reverted: the Deployment has ${String(deploymentShape(await cluster.read(WEB)).replicas)} replicas again.`,
    );

    say.step('A bad change is pushed: an image that does not exist');
    await folder.replace('deployment.yaml', 'image: nginx:1.27', 'image: nginx:does-not-exist');
    say.say('The plan:');
    say.detail(formatPlan(await reconciler.plan()));
    await reconcile();
    const image = deploymentShape(await cluster.read(WEB)).image;
    say.say(`The Deployment runs ${String(image)} again: the last healthy revision was re-applied.`);
    say.say('Until a new revision arrives, the failed one is held back:');
    await reconcile();

    say.step('Audit trail (newest first)');
    for (const entry of reconciler.status.history) {
      say.detail(
        `${entry.startedAt}  ${(entry.kind ?? entry.outcome).padEnd(10)} ${shortRevision(entry.revision)}${entry.reason ? `  ${entry.reason}` : ''}`,
      );
    }
    return outcome();
  } finally {
    await reconciler.stop();
    await folder.dispose();
    await source.dispose();
  }

  async function outcome(): Promise<QuickstartOutcome> {
    const live = deploymentShape(await cluster.read(WEB));
    return {
      results,
      events,
      finalRevision: reconciler.status.lastAppliedRevision,
      rolledBackRevision,
      finalReplicas: live.replicas,
      finalImage: live.image,
      history: reconciler.status.history,
    };
  }
}
