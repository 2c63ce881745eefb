import { type Clock, checkIgnoreRules, type IgnoreRule, systemClock } from '@gitops-kit/core';
import { defaultCredentialsTransport } from './default-transport.js';
import { Discovery } from './discovery.js';
import type { CustomHealthChecks } from './health/types.js';
import { KubeClient } from './kube-client.js';
import type { KubernetesTargetOptions, PropagationPolicy } from './options.js';
import { ownerLabelValue } from './ownership.js';
import type { ResolvedPrevention } from './prevention.js';
import type { Restrictions } from './restrictions.js';
import { type ResolvedTakeOver, resolveTakeOver } from './takeover.js';

/**
 * What every verb of the target works with: the client, the discovery cache and the options with
 * their defaults applied, resolved once when the target is built.
 */
export interface TargetContext {
  /** The owner's name. */
  readonly name: string;
  /** The owner label's value for {@link name}. */
  readonly ownerLabel: string;
  readonly client: KubeClient;
  readonly discovery: Discovery;
  readonly fieldManager: string;
  readonly force: boolean;
  readonly concurrency: number;
  readonly targetNamespace: string;
  readonly restrictions: Restrictions | undefined;
  readonly propagationPolicy: PropagationPolicy;
  readonly recreateOnImmutable: boolean;
  readonly healthChecks: CustomHealthChecks | undefined;
  readonly listScope: 'auto' | 'cluster' | 'namespace';
  readonly establishTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly clock: Clock;
  /** Ignore rules, checked once here. */
  readonly ignore: readonly IgnoreRule[];
  /** Drift prevention, when on. */
  readonly prevention: ResolvedPrevention | undefined;
  /** What kubectl wrote that is taken over before an apply, when on. */
  readonly takeOver: ResolvedTakeOver;
}

/** Resolves the options: defaults applied, a client built from the KubeConfig unless one is given. */
export function createContext(options: KubernetesTargetOptions): TargetContext {
  if (!options.name) throw new Error('KubernetesTarget needs a name');
  const concurrency = options.concurrency ?? 16;
  checkIgnoreRules(options.ignore ?? []);
  const clientOptions = {
    impersonate: options.impersonate,
    maxSockets: concurrency,
    requestTimeoutMs: options.requestTimeoutMs,
  };
  const client =
    options.client ??
    (options.kubeConfig
      ? KubeClient.fromKubeConfig(options.kubeConfig, clientOptions)
      : new KubeClient(defaultCredentialsTransport(clientOptions)));
  return {
    name: options.name,
    ownerLabel: ownerLabelValue(options.name),
    client,
    discovery: new Discovery(client),
    fieldManager: options.fieldManager ?? 'gitops-kit',
    force: options.force ?? true,
    concurrency,
    targetNamespace: options.targetNamespace ?? 'default',
    restrictions: options.restrictions,
    propagationPolicy: options.propagationPolicy ?? 'Background',
    recreateOnImmutable: options.recreateOnImmutable ?? false,
    healthChecks: options.healthChecks,
    listScope: options.listScope ?? 'auto',
    establishTimeoutMs: options.establishTimeoutMs ?? 60_000,
    pollIntervalMs: options.pollIntervalMs ?? 200,
    clock: options.clock ?? systemClock,
    ignore: options.ignore ?? [],
    takeOver: resolveTakeOver(options.takeOver),
    prevention: options.prevention
      ? { options: options.prevention === true ? {} : options.prevention, identity: undefined }
      : undefined,
  };
}
