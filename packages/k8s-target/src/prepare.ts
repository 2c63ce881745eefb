import {
  type ApplyTier,
  applyTierOf,
  builtinScope,
  digestObject,
  groupOf,
  type KubeObject,
  type Manifest,
  type ObjectRef,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  readSyncOptions,
  refOf,
  ValidationError,
  type ValidationIssue,
} from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { crdsOf } from './crds.js';
import type { ResourceInfo } from './discovery.js';
import { K8sErrorCodes, locationOf, UnknownKindError } from './errors.js';
import { mapAll } from './pool.js';
import { assertRestrictions, checkRestrictions, type Restrictions } from './restrictions.js';

/** One desired object, resolved: what is sent, where, and in which apply tier. */
export interface Prepared {
  readonly manifest: Manifest;
  readonly ref: ObjectRef;
  readonly info: ResourceInfo;
  /** The apply body: the manifest with the default namespace and our ownership marks. */
  readonly body: KubeObject;
  readonly digest: string;
  readonly tier: ApplyTier;
  /**
   * The kind is not served yet: defined by a CRD of this set, or (with `missing`) by none, allowed
   * by `SkipDryRunOnMissingResource=true`.
   */
  readonly pending: boolean;
  /**
   * `SkipDryRunOnMissingResource=true` on a kind nobody in the set defines and the server does not
   * serve: never dry-run, `info` is a guess (no plural) resolved again right before the write.
   */
  readonly missing: boolean;
  /** `argocd.argoproj.io/sync-options` that change the writes: `Replace=true`, `Validate=false`. */
  readonly writeOptions: WriteOptions;
}

/** How an object is written, from its Argo CD sync options. */
export interface WriteOptions {
  /** `Replace=true`: PUT the whole object (POST when absent) instead of a server-side apply. */
  readonly replace: boolean;
  /** `Validate=false`: `fieldValidation=Ignore` on its dry-run and write. */
  readonly validate: boolean;
  /** `SkipDryRunOnMissingResource=true`. */
  readonly skipDryRunOnMissingResource: boolean;
}

/**
 * Resolves, checks and marks every manifest: shape first, restrictions from what is known without
 * asking the server, discovery (one request per group-version), then restrictions again with the
 * scope discovery told. Every refusal of a step is reported together, each naming its manifest.
 */
export async function prepare(
  context: TargetContext,
  manifests: readonly Manifest[],
  signal: AbortSignal,
): Promise<Prepared[]> {
  assertShape(manifests);
  const crds = crdsOf(manifests);
  const { restrictions, targetNamespace } = context;
  if (restrictions) assertEarlyRestrictions(manifests, crds, restrictions, targetNamespace);
  const resolved = await resolveKinds(context, manifests, crds, signal);

  const prepared = manifests.map((manifest): Prepared => {
    const { object } = manifest;
    const found = resolved.get(`${object.apiVersion}|${object.kind}`);
    const writeOptions = writeOptionsOf(object);
    // A kind nobody serves or defines, allowed by SkipDryRunOnMissingResource: its scope is unknown,
    // so it keeps the namespace it was written with (none defaulted).
    const missing = found === undefined;
    const info = found?.info ?? guessedInfo(object);
    const pending = found?.pending ?? true;
    const namespace = missing
      ? object.metadata.namespace
      : info.namespaced
        ? (object.metadata.namespace ?? targetNamespace)
        : undefined;
    const body = markedBody(context, object, namespace);
    return {
      manifest,
      ref: refFor(object, namespace),
      info,
      body,
      digest: digestObject(body),
      tier: applyTierOf(object.apiVersion, object.kind),
      pending,
      missing,
      writeOptions,
    };
  });
  if (restrictions) {
    assertRestrictions(
      prepared.map((p) => ({ ref: p.ref, namespaced: p.info.namespaced, origin: p.manifest.origin })),
      restrictions,
    );
  }
  return prepared;
}

/** Refuses, all together, objects without `apiVersion`, `kind` or `metadata.name`. */
function assertShape(manifests: readonly Manifest[]): void {
  const issues: ValidationIssue[] = [];
  for (const manifest of manifests) {
    const o = manifest.object as Partial<KubeObject>;
    if (
      typeof o.apiVersion !== 'string' ||
      typeof o.kind !== 'string' ||
      typeof o.metadata?.name !== 'string'
    ) {
      issues.push({
        message: 'an object needs apiVersion, kind and metadata.name',
        location: {
          file: manifest.origin.file,
          line: manifest.origin.line,
          documentIndex: manifest.origin.documentIndex,
        },
      });
    }
  }
  if (issues.length > 0) throw new ValidationError(K8sErrorCodes.InvalidObject, issues);
}

/**
 * Restrictions first, from what is known without asking the server: the kind rules always, the
 * namespace and scope rules where the scope is known (built-in kinds, CRDs of the set).
 */
function assertEarlyRestrictions(
  manifests: readonly Manifest[],
  crds: ReturnType<typeof crdsOf>,
  restrictions: Restrictions,
  targetNamespace: string,
): void {
  const kindRules: Restrictions = {
    allowedKinds: restrictions.allowedKinds,
    deniedKinds: restrictions.deniedKinds,
  };
  const early: ValidationIssue[] = [];
  for (const manifest of manifests) {
    const { object } = manifest;
    const group = groupOf(object.apiVersion);
    const namespaced = builtinScope(group, object.kind) ?? crds.get(`${group}/${object.kind}`)?.namespaced;
    if (namespaced === undefined) {
      early.push(
        ...checkRestrictions([{ ref: refOf(object), namespaced: false, origin: manifest.origin }], kindRules),
      );
    } else {
      const namespace = namespaced ? (object.metadata.namespace ?? targetNamespace) : undefined;
      early.push(
        ...checkRestrictions(
          [{ ref: refFor(object, namespace), namespaced, origin: manifest.origin }],
          restrictions,
        ),
      );
    }
  }
  if (early.length > 0) throw new ValidationError(K8sErrorCodes.Restricted, early);
}

/**
 * Where each kind of the set is served: from discovery (one request per group-version, in
 * parallel), or, for a kind a CRD of the set defines and the server does not serve yet, from the
 * CRD (`pending`). Unknown kinds are refused together, each manifest named.
 */
async function resolveKinds(
  context: TargetContext,
  manifests: readonly Manifest[],
  crds: ReturnType<typeof crdsOf>,
  signal: AbortSignal,
): Promise<Map<string, { info: ResourceInfo; pending: boolean }>> {
  const kinds = new Map<string, { apiVersion: string; kind: string; manifests: Manifest[] }>();
  for (const manifest of manifests) {
    const key = `${manifest.object.apiVersion}|${manifest.object.kind}`;
    const entry = kinds.get(key) ?? {
      apiVersion: manifest.object.apiVersion,
      kind: manifest.object.kind,
      manifests: [],
    };
    entry.manifests.push(manifest);
    kinds.set(key, entry);
  }
  const issues: ValidationIssue[] = [];
  const resolved = new Map<string, { info: ResourceInfo; pending: boolean }>();
  const { discovery } = context;
  await mapAll(
    [...kinds.entries()],
    context.concurrency,
    async ([key, { apiVersion, kind, manifests: users }]) => {
      const found = await discovery.lookup(apiVersion, kind, signal);
      if (found) {
        resolved.set(key, { info: found, pending: false });
        return;
      }
      const slash = apiVersion.indexOf('/');
      const crd = crds.get(`${groupOf(apiVersion)}/${kind}`);
      if (crd && slash > 0 && crd.versions.includes(apiVersion.slice(slash + 1))) {
        resolved.set(key, {
          info: {
            group: crd.group,
            version: apiVersion.slice(slash + 1),
            kind,
            resource: crd.plural,
            namespaced: crd.namespaced,
          },
          pending: true,
        });
        return;
      }
      try {
        resolved.set(key, { info: await discovery.resolve(apiVersion, kind, signal), pending: false });
      } catch (error) {
        if (!(error instanceof UnknownKindError)) throw error;
        // SkipDryRunOnMissingResource=true: left unresolved (prepare guesses), written once served.
        for (const manifest of users.filter((m) => !writeOptionsOf(m.object).skipDryRunOnMissingResource)) {
          issues.push({ message: error.message, location: locationOf(manifest, refOf(manifest.object)) });
        }
      }
    },
  );
  if (issues.length > 0) throw new ValidationError(K8sErrorCodes.UnknownKind, issues);
  return resolved;
}

/** The write options of an object (the renderer already refused a malformed annotation; defaults then). */
export function writeOptionsOf(object: KubeObject): WriteOptions {
  try {
    const options = readSyncOptions(object.metadata.annotations ?? {}, {});
    return {
      replace: options.replace,
      validate: options.validate,
      skipDryRunOnMissingResource: options.skipDryRunOnMissingResource,
    };
  } catch {
    return { replace: false, validate: true, skipDryRunOnMissingResource: false };
  }
}

/** Where an unserved kind would be, as far as the manifest tells: namespaced when it names a namespace. */
function guessedInfo(object: KubeObject): ResourceInfo {
  const slash = object.apiVersion.indexOf('/');
  return {
    group: slash > 0 ? object.apiVersion.slice(0, slash) : '',
    version: object.apiVersion.slice(slash + 1),
    kind: object.kind,
    resource: '',
    namespaced: object.metadata.namespace !== undefined,
  };
}

/** The body we send: the rendered object, its namespace defaulted (or dropped when cluster-scoped), our marks added. */
function markedBody(context: TargetContext, object: KubeObject, namespace: string | undefined): KubeObject {
  const metadata: KubeObject['metadata'] = { ...object.metadata };
  if (namespace === undefined) delete metadata.namespace;
  else metadata.namespace = namespace;
  metadata.labels = { ...(object.metadata.labels ?? {}), [OWNER_LABEL]: context.ownerLabel };
  metadata.annotations = { ...(object.metadata.annotations ?? {}), [OWNER_ANNOTATION]: context.name };
  return { ...object, metadata };
}

/** The reference of an object in `namespace` (none for cluster-scoped kinds). */
function refFor(object: KubeObject, namespace: string | undefined): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
  return namespace ? { ...ref, namespace } : ref;
}
