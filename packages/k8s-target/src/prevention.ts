import { type KubeObject, type Manifest, OWNER_LABEL } from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { isStatus } from './errors.js';

/**
 * Drift prevention: a ValidatingAdmissionPolicy and its binding (admissionregistration.k8s.io/v1,
 * CEL, no webhook server) applied with the set, so the apiserver itself refuses UPDATE and DELETE
 * of the objects carrying this target's owner label from anyone but the reconciler's own identity,
 * the cluster's controllers (service accounts of kube-system, by default) and a break-glass group.
 * They are ordinary members of the set: planned, applied, in the inventory and pruned with it.
 * Subresources (`status`, `scale`) are not covered, so controllers and autoscalers keep working.
 */

/** Options for drift prevention (the target's `prevention` option). */
export interface PreventionOptions {
  /** Groups whose members may still change our objects by hand (default `gitops-kit:break-glass`). */
  readonly breakGlassGroups?: readonly string[] | undefined;
  /**
   * Groups of the cluster's own controllers, which update objects (annotations, finalizers) and
   * delete them (garbage collection, namespace deletion). Default: `system:serviceaccounts:kube-system`.
   */
  readonly controllerGroups?: readonly string[] | undefined;
  /** Users allowed besides the reconciler's own identity. */
  readonly allowedUsers?: readonly string[] | undefined;
  /**
   * The reconciler's own user name as the apiserver sees it. Default: asked once with a
   * SelfSubjectReview (authentication.k8s.io/v1), so impersonation is taken into account.
   */
  readonly identity?: string | undefined;
}

/** Whether prevention is in force on the cluster, as {@link KubernetesTarget.preventionStatus} reads it. */
export interface PreventionStatus {
  /** True when the policy and its binding exist and the apiserver has read the policy's current version. */
  readonly active: boolean;
  /** The policy's (and the binding's) name. */
  readonly name: string;
  /** Why, in words. */
  readonly message: string;
}

/** Options resolved once, with the identity looked up at most once. */
export interface ResolvedPrevention {
  readonly options: PreventionOptions;
  identity: Promise<string> | undefined;
}

const API = 'admissionregistration.k8s.io/v1';

/** The name of the policy and binding of a target: one pair per owner. */
export function preventionName(context: TargetContext): string {
  return `gitops-kit-prevent-${context.ownerLabel}`.slice(0, 253);
}

/** The reconciler's user name, from the options or a SelfSubjectReview (asked once). */
async function identityOf(context: TargetContext, prevention: ResolvedPrevention, signal: AbortSignal) {
  if (prevention.options.identity) return prevention.options.identity;
  prevention.identity ??= context.client
    .request<{ status?: { userInfo?: { username?: string } } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      signal,
    })
    .then((review) => {
      const name = review.status?.userInfo?.username;
      if (!name) throw new Error('the apiserver did not say who the reconciler is (SelfSubjectReview)');
      return name;
    });
  try {
    return await prevention.identity;
  } catch (error) {
    prevention.identity = undefined; // asked again next time
    throw error;
  }
}

/** A CEL list of string literals. */
function celList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
}

/** The policy and binding of a target, as manifests of the set (origin: the target's option). */
export async function preventionManifests(
  context: TargetContext,
  prevention: ResolvedPrevention,
  signal: AbortSignal,
): Promise<Manifest[]> {
  const name = preventionName(context);
  const users = [await identityOf(context, prevention, signal), ...(prevention.options.allowedUsers ?? [])];
  const groups = [
    ...(prevention.options.controllerGroups ?? ['system:serviceaccounts:kube-system']),
    ...(prevention.options.breakGlassGroups ?? ['gitops-kit:break-glass']),
  ];
  const refusal =
    `'gitops-kit: ' + request.kind.kind + ' ' + (request.namespace == '' ? '' : request.namespace + '/') + ` +
    `request.name + ' is managed by reconciler ' + ${JSON.stringify(context.name)} + ` +
    `': change its source (Git) instead of the cluster; drift prevention refuses this ' + request.operation`;
  const policy: KubeObject = {
    apiVersion: API,
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          { apiGroups: ['*'], apiVersions: ['*'], operations: ['UPDATE', 'DELETE'], resources: ['*'] },
        ],
      },
      validations: [
        {
          expression:
            `request.userInfo.username in ${celList(users)} || ` +
            `(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in ${celList(groups)}))`,
          messageExpression: refusal,
          reason: 'Forbidden',
        },
      ],
    },
  };
  const binding: KubeObject = {
    apiVersion: API,
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ['Deny'],
      matchResources: { objectSelector: { matchLabels: { [OWNER_LABEL]: context.ownerLabel } } },
    },
  };
  const origin = (documentIndex: number) => ({ file: '(prevention option)', documentIndex, line: 1 });
  return [
    { object: policy, origin: origin(0) },
    { object: binding, origin: origin(1) },
  ];
}

/** Whether the policy and binding exist, and the apiserver has taken in the policy's current version. */
export async function readPreventionStatus(
  context: TargetContext,
  signal: AbortSignal,
): Promise<PreventionStatus> {
  const name = preventionName(context);
  const read = async (resource: string): Promise<KubeObject | undefined> => {
    try {
      return await context.client.request<KubeObject>({
        method: 'GET',
        path: `/apis/${API}/${resource}/${name}`,
        signal,
      });
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  };
  const [policy, binding] = await Promise.all([
    read('validatingadmissionpolicies'),
    read('validatingadmissionpolicybindings'),
  ]);
  if (!policy || !binding) {
    const missing = [policy ? [] : ['policy'], binding ? [] : ['binding']].flat().join(' and ');
    return { active: false, name, message: `the ${missing} ${name} is not on the cluster` };
  }
  const status = (
    policy as { status?: { observedGeneration?: number; typeChecking?: { expressionWarnings?: unknown[] } } }
  ).status;
  if (status?.observedGeneration !== policy.metadata.generation) {
    return { active: false, name, message: `the apiserver has not read policy ${name} yet` };
  }
  const warnings = status?.typeChecking?.expressionWarnings ?? [];
  if (warnings.length > 0) {
    return { active: false, name, message: `policy ${name} has ${warnings.length} expression warnings` };
  }
  return { active: true, name, message: `policy ${name} refuses changes by anyone but the reconciler` };
}
