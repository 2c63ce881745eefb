import { digestObject } from '../digest.js';
import { FleetError, FleetErrorCodes } from '../errors.js';

/**
 * What a fleet knows of one cluster: a name, labels to select it by, per-cluster values, and how
 * to reach it. The connection is opaque to core (a kubeconfig text, a FakeCluster, a Secret's
 * config): only the member factory reads it, and nothing in status or errors ever shows it.
 */

/** Per-cluster values fed into the reconciler factory. */
export interface ClusterValues {
  /** Substitution variables (`${CLUSTER_NAME}`), as Flux's `postBuild.substitute`. */
  readonly variables?: Readonly<Record<string, string>>;
  /** Helm values, merged over the chart's (a renderer setting: a different set renders apart). */
  readonly helmValues?: Readonly<Record<string, unknown>>;
}

/** One cluster of a fleet, as a generator produces it. */
export interface FleetCluster<C = unknown> {
  /** Unique in the fleet; names the reconciler and its state. Letters, digits, `-`, `.`, `_`. */
  readonly name: string;
  /** Labels to select the cluster by (waves, generator selectors). */
  readonly labels: Readonly<Record<string, string>>;
  /** Substitution variables and Helm values of this cluster. */
  readonly values: ClusterValues;
  /** How to reach the cluster; read by the member factory only, never logged. */
  readonly connection: C;
  /**
   * A digest of everything that defines the cluster (values, labels and connection). When it
   * changes, the fleet replaces the cluster's reconciler (without pruning). Filled by
   * {@link defineCluster} when left out.
   */
  readonly fingerprint: string;
}

/** The input of {@link defineCluster}: a cluster without its fingerprint. */
export interface ClusterDefinition<C = unknown> {
  /** Unique in the fleet (see {@link FleetCluster.name}). */
  readonly name: string;
  /** Labels to select the cluster by (default none). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Substitution variables and Helm values (default none). */
  readonly values?: ClusterValues;
  /** How to reach the cluster; read by the member factory only. */
  readonly connection: C;
  /** Overrides the computed fingerprint (for connections that cannot be digested as JSON). */
  readonly fingerprint?: string;
}

/** A source of clusters: a list, a folder of kubeconfigs, cluster Secrets of a management cluster. */
export interface ClusterGenerator<C = unknown> {
  /** A description for status and errors (`list`, `folder /etc/fleet`), without credentials. */
  readonly description: string;
  /** The clusters now. Throws a {@link FleetError} `FLEET_GENERATOR_FAILED` when it cannot tell. */
  list(signal: AbortSignal): Promise<readonly FleetCluster<C>[]>;
  /**
   * Optional: calls `onChange` when the clusters may have changed (a watch or a poll), until the
   * returned function is called. The fleet syncs at once instead of at its next interval.
   */
  watch?(onChange: () => void): () => void;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * Checks a definition and gives it a fingerprint. Throws a {@link FleetError}
 * `FLEET_INVALID_CLUSTER` for a name a reconciler (and a Lease) cannot carry.
 */
export function defineCluster<C>(definition: ClusterDefinition<C>): FleetCluster<C> {
  const { name } = definition;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new FleetError(
      FleetErrorCodes.InvalidCluster,
      `cluster name ${JSON.stringify(name)} is not usable: letters, digits, ".", "-" and "_", at most 253`,
    );
  }
  const labels = { ...(definition.labels ?? {}) };
  const values: ClusterValues = {
    ...(definition.values?.variables ? { variables: { ...definition.values.variables } } : {}),
    ...(definition.values?.helmValues ? { helmValues: structuredClone(definition.values.helmValues) } : {}),
  };
  const fingerprint =
    definition.fingerprint ??
    digestObject({ labels, values, connection: fingerprintable(definition.connection) });
  return { name, labels, values, connection: definition.connection, fingerprint };
}

/** A JSON view of a connection for the digest; objects that are not plain data count by identity. */
function fingerprintable(connection: unknown): unknown {
  if (connection === null || typeof connection !== 'object') return connection;
  const proto = Object.getPrototypeOf(connection);
  if (proto === Object.prototype || Array.isArray(connection)) return connection;
  return `${proto?.constructor?.name ?? 'object'}#${identityOf(connection)}`;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 1;
function identityOf(value: object): number {
  let id = identities.get(value);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(value, id);
  }
  return id;
}

/** A label selector, as Kubernetes writes it (`matchLabels` and `matchExpressions`, ANDed). */
export interface LabelSelector {
  /** Labels that must have these values. */
  readonly matchLabels?: Readonly<Record<string, string>>;
  /** Expressions that must all hold. */
  readonly matchExpressions?: readonly LabelExpression[];
}

/** One expression of a {@link LabelSelector}. */
export interface LabelExpression {
  /** The label. */
  readonly key: string;
  /** `In` / `NotIn` a set of values, or the label `Exists` / `DoesNotExist`. */
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /** The values of `In` and `NotIn`. */
  readonly values?: readonly string[];
}

/** Whether labels match a selector (an empty selector matches everything), by Kubernetes' rules. */
export function matchesSelector(labels: Readonly<Record<string, string>>, selector: LabelSelector): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
    if (operator === 'In' && !(has && values.includes(value as string))) return false;
    if (operator === 'NotIn' && has && values.includes(value as string)) return false;
  }
  return true;
}

/** A selector as a Kubernetes `labelSelector` query string (`a=b,c in (d,e),!f`). */
export function selectorQuery(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    else parts.push(`${key} ${operator === 'In' ? 'in' : 'notin'} (${values.join(',')})`);
  }
  return parts.join(',');
}
