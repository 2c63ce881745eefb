import type { KubeObject, ObjectRef } from '@gitops-kit/core';

/**
 * How OpenTofu code travels as gitops-kit manifests: one manifest per `resource` block (kind = the
 * resource type, name = the resource name, so the inventory names resource addresses), and one
 * `Module` manifest holding every other block (terraform, provider, variable, locals, data,
 * output, check) and the files that are not `.tf` (local modules, templates).
 */

/** The apiVersion of every OpenTofu manifest. */
export const TOFU_API_VERSION = 'opentofu.org/v1';
/** The kind of the manifest that holds the non-resource blocks of the root module. */
export const MODULE_KIND = 'Module';
/** The name of that manifest. */
export const MODULE_NAME = 'root';

/** A resource block: its text (`.tf`) or its body (`.tf.json`), and the file it goes back to. */
export interface ResourceSpec {
  readonly file: string;
  readonly line: number;
  readonly hcl?: string | undefined;
  readonly json?: unknown;
}

/** The rest of the root module. */
export interface ModuleSpec {
  /** Non-resource blocks of `.tf` files. */
  readonly hcl: readonly { readonly file: string; readonly line: number; readonly text: string }[];
  /** `.tf.json` files without their `resource` key. */
  readonly json: readonly { readonly file: string; readonly value: Record<string, unknown> }[];
  /** Other files, verbatim, by relative path. */
  readonly files: Readonly<Record<string, string>>;
}

/** The resource address of a resource manifest (`terraform_data.web`). */
export function addressOf(ref: Pick<ObjectRef, 'kind' | 'name'>): string {
  return `${ref.kind}.${ref.name}`;
}

/** Whether a manifest or ref is the module manifest. */
export function isModule(ref: Pick<ObjectRef, 'kind'>): boolean {
  return ref.kind === MODULE_KIND;
}

/** The spec of a manifest object, typed by kind. */
export function specOf<T extends ResourceSpec | ModuleSpec>(object: KubeObject): T {
  return object.spec as T;
}
