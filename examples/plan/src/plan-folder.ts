import {
  type Artifact,
  emptyInventory,
  nameGenerated,
  type Plan,
  planHasChanges,
  planLifecycle,
  RawRenderer,
  type Renderer,
  type StateStore,
  syncOperationFor,
  type Target,
} from '@gitops-kit/core';
import { type FormatPlanDiffOptions, formatPlanDiff } from '@gitops-kit/k8s-target';

/** What {@link planFolder} needs: everything that touches the world is passed in. */
export interface PlanFolderOptions {
  /** The artifact to render (a folder snapshot). */
  readonly artifact: Artifact;
  /** Where the plan is made: a KubernetesTarget, or a FakeCluster in tests. */
  readonly target: Target;
  /** Where the reconciler keeps its inventory. */
  readonly stateStore: StateStore;
  /** The reconciler's name: the key of its stored state. */
  readonly name: string;
  /** Default: the raw renderer (every YAML and JSON file, recursively). */
  readonly renderer?: Renderer | undefined;
  /** How the diff is printed. */
  readonly format?: FormatPlanDiffOptions | undefined;
  readonly signal: AbortSignal;
}

/** A plan, its printable form and the exit status that goes with it. */
export interface FolderPlan {
  readonly plan: Plan;
  readonly text: string;
  /** 0 when nothing would change, 2 when something would (as `terraform plan -detailed-exitcode`). */
  readonly exitCode: 0 | 2;
}

/**
 * Renders an artifact and plans it against the target and the reconciler's stored inventory, the
 * same inputs a reconcile would use, so the printed plan is what the next reconcile would do. Only
 * reads: the target's `plan` writes nothing and the state is loaded, never saved. Each object is
 * shown with its phase and wave (hooks marked; hooks of another operation as not run).
 */
export async function planFolder(options: PlanFolderOptions): Promise<FolderPlan> {
  const { signal } = options;
  const renderer: Renderer = options.renderer ?? new RawRenderer();
  // As the reconciler: Helm sees the cluster's version and API versions when the target tells them.
  const capabilities = renderer.usesClusterCapabilities
    ? await options.target.capabilities?.({ signal })
    : undefined;
  const manifests = await renderer.render(options.artifact, { signal, capabilities });
  const state = await options.stateStore.load(options.name, { signal });
  const inventory = state?.inventory ?? emptyInventory;
  const targetPlan = await options.target.plan(nameGenerated(manifests), inventory, { signal });
  // Each object's phase and wave, for the operation the next pass would run (install or upgrade).
  const { plan } = planLifecycle(targetPlan, syncOperationFor(state ?? { inventory }));
  return {
    plan,
    text: formatPlanDiff(plan, options.format),
    exitCode: planHasChanges(plan) ? 2 : 0,
  };
}
