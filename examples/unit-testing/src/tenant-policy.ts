import {
  type Artifact,
  type ErrorLocation,
  formatRef,
  type KubeObject,
  type Manifest,
  RenderError,
  type Renderer,
  type RenderOptions,
  refOf,
} from '@gitops-kit/core';

/**
 * The reconcile logic of a (fictional) platform team: every tenant gets its own namespace, and what
 * a tenant puts in its repository must follow the platform's rules. This is the kind of code users
 * write around gitops-kit, and the kind of code they want unit tests for.
 */

/** One tenant of the platform. */
export interface Tenant {
  /** Short name: the namespace is `tenant-<name>`. */
  readonly name: string;
  /** The owning team, written as a label on every object. */
  readonly team: string;
  /** The most replicas one Deployment may ask for (default 5). */
  readonly maxReplicas?: number;
}

/** The label carrying the owning team. */
export const TEAM_LABEL = 'platform.example.com/team';

/** Error code of a manifest that breaks a platform rule. */
export const POLICY_VIOLATION = 'RENDER_POLICY_VIOLATION';

/** The namespace of a tenant. */
export function tenantNamespace(tenant: Tenant): string {
  return `tenant-${tenant.name}`;
}

/** Kinds a tenant may not create: they reach beyond its namespace. */
const FORBIDDEN_KINDS = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
]);

interface Container {
  readonly name?: string;
  readonly resources?: { readonly limits?: { readonly cpu?: unknown; readonly memory?: unknown } };
}

interface DeploymentSpec {
  readonly replicas?: number;
  readonly template?: { readonly spec?: { readonly containers?: readonly Container[] } };
}

/** What is wrong with one object, by the platform's rules (empty when nothing is). */
export function policyViolations(object: KubeObject, tenant: Tenant): string[] {
  const problems: string[] = [];
  const namespace = tenantNamespace(tenant);
  if (FORBIDDEN_KINDS.has(object.kind)) problems.push(`tenants may not create a ${object.kind}`);
  if (object.metadata.namespace !== undefined && object.metadata.namespace !== namespace) {
    problems.push(`namespace "${object.metadata.namespace}" is not the tenant's namespace "${namespace}"`);
  }
  if (object.kind === 'Deployment') {
    const spec = (object.spec ?? {}) as DeploymentSpec;
    const max = tenant.maxReplicas ?? 5;
    if ((spec.replicas ?? 1) > max) problems.push(`replicas ${spec.replicas} is above the limit of ${max}`);
    for (const container of spec.template?.spec?.containers ?? []) {
      const limits = container.resources?.limits;
      if (limits?.cpu === undefined || limits.memory === undefined) {
        problems.push(`container "${container.name ?? '?'}" must set resources.limits.cpu and .memory`);
      }
    }
  }
  return problems;
}

/**
 * A renderer that applies the platform's rules around any other renderer: it refuses the whole set
 * when one object breaks a rule (naming file, line and object), puts every object in the tenant's
 * namespace with the team label, and adds the tenant's Namespace itself.
 */
export class TenantPolicyRenderer implements Renderer {
  readonly name: string;
  readonly #inner: Renderer;
  readonly #tenant: Tenant;

  /** @param inner the renderer of the tenant's repository (raw YAML, Kustomize, …). */
  constructor(inner: Renderer, tenant: Tenant) {
    this.#inner = inner;
    this.#tenant = tenant;
    this.name = `tenant-policy(${inner.name})`;
  }

  /** Renders with the inner renderer, then checks and decorates every object. */
  async render(artifact: Artifact, options: RenderOptions): Promise<Manifest[]> {
    const manifests = await this.#inner.render(artifact, options);
    const issues: { message: string; location: ErrorLocation }[] = [];
    for (const manifest of manifests) {
      for (const message of policyViolations(manifest.object, this.#tenant)) {
        issues.push({ message, location: { ...manifest.origin, object: formatRef(refOf(manifest.object)) } });
      }
    }
    const [first] = issues;
    if (first) {
      const more =
        issues.length > 1
          ? ` (and ${issues.length - 1} more: ${issues
              .slice(1)
              .map((i) => i.message)
              .join('; ')})`
          : '';
      throw new RenderError(POLICY_VIOLATION, `${first.message}${more}`, { location: first.location });
    }
    return [this.#namespace(), ...manifests.map((manifest) => this.#decorate(manifest))];
  }

  /** The tenant's Namespace, added by the platform rather than by the tenant. */
  #namespace(): Manifest {
    return {
      object: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: tenantNamespace(this.#tenant), labels: { [TEAM_LABEL]: this.#tenant.team } },
      },
      origin: { file: '(platform)', documentIndex: 0, line: 1 },
    };
  }

  #decorate(manifest: Manifest): Manifest {
    const { metadata } = manifest.object;
    const object: KubeObject = {
      ...manifest.object,
      metadata: {
        ...metadata,
        namespace: tenantNamespace(this.#tenant),
        labels: { ...metadata.labels, [TEAM_LABEL]: this.#tenant.team },
      },
    };
    return { ...manifest, object };
  }
}
