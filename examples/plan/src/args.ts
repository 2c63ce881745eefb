import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** What the command line asked for. */
export interface PlanCliOptions {
  /** Absolute path of the folder of manifests. */
  readonly folder: string;
  /** Kubeconfig file; default: `$KUBECONFIG`, then `~/.kube/config`, then in-cluster. */
  readonly kubeconfig?: string | undefined;
  /** Namespace of namespaced objects that set none. */
  readonly namespace: string;
  /** Namespace the reconciler keeps its inventory in (default: `namespace`). */
  readonly stateNamespace: string;
  /** The reconciler's name: its inventory is the one compared against (default: the folder's name). */
  readonly name: string;
  /** Colored output: forced on or off, or undefined to color only a terminal. */
  readonly color?: boolean | undefined;
  /** Lines of context around each change. */
  readonly context: number;
}

/** The help text. */
export const USAGE = `Usage: gitops-kit-plan <folder> [options]

Renders the manifests in <folder>, compares them with the cluster and the reconciler's stored
inventory, and prints what a reconcile would create, update and prune. Writes nothing.

Options:
  --kubeconfig <path>        kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --namespace <ns>           namespace for objects that set none (default: default)
  --state-namespace <ns>     where the reconciler stores its inventory (default: --namespace)
  --name <name>              the reconciler's name (default: the folder's name)
  --context <lines>          lines of context around changes (default: 3)
  --color / --no-color       force colors on or off (default: on for a terminal)
  -h, --help                 show this help

Exit status: 0 no changes, 2 changes, 1 error (like terraform plan -detailed-exitcode).`;

/** A command line that cannot be run; the message says why. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses the arguments after `node main.js`; returns `'help'` when help was asked for. */
export function parsePlanArgs(argv: readonly string[]): PlanCliOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'a folder is required' : 'only one folder may be given');
  }
  const folder = resolve(positionals[0] as string);
  const context = values.context === undefined ? 3 : Number(values.context);
  if (!Number.isInteger(context) || context < 0) {
    throw new UsageError(`--context must be a whole number, got "${values.context}"`);
  }
  const namespace = values.namespace ?? 'default';
  return {
    folder,
    kubeconfig: values.kubeconfig,
    namespace,
    stateNamespace: values['state-namespace'] ?? namespace,
    name: values.name ?? basename(folder),
    color: values['no-color'] ? false : values.color ? true : undefined,
    context,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'state-namespace': { type: 'string' },
      name: { type: 'string' },
      context: { type: 'string' },
      color: { type: 'boolean' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
