/**
 * The few Kubernetes rules the fake cluster imitates, so that what passes in a unit test is not
 * refused by a real API server for a simple reason: the built-in namespaces and the naming rules
 * of object names, namespaces and labels. Scope of kinds, apply order and ownership marks are
 * shared with the real target in `../kube/conventions.ts`.
 */

/** Namespaces every cluster has, whether or not an object for them was applied. */
export const BUILT_IN_NAMESPACES: readonly string[] = Object.freeze([
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
]);

/** Kinds whose names follow the looser path-segment rule (RBAC allows `system:controller:x`). */
const PATH_SEGMENT_NAMED = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Why a name is invalid for a kind, or undefined when it is valid. */
export function invalidName(kind: string, name: string): string | undefined {
  if (name === '') return 'metadata.name is empty';
  if (PATH_SEGMENT_NAMED.has(kind)) {
    if (name === '.' || name === '..' || /[/%]/.test(name)) {
      return `name "${name}" may not be "." or ".." or contain "/" or "%"`;
    }
    return undefined;
  }
  if (kind === 'Namespace') return invalidNamespace(name);
  if (kind === 'Service') {
    if (name.length > 63 || !DNS1035_LABEL.test(name)) {
      return `name "${name}" must be a DNS-1035 label (lowercase letters, digits and "-", starting with a letter, at most 63 characters)`;
    }
    return undefined;
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return `name "${name}" must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)`;
  }
  return undefined;
}

/** Why a namespace name is invalid, or undefined when it is valid. */
export function invalidNamespace(name: string): string | undefined {
  if (name.length > 63 || !DNS1123_LABEL.test(name)) {
    return `namespace "${name}" must be a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)`;
  }
  return undefined;
}

/** Why a label is invalid, or undefined when it is valid. */
export function invalidLabel(key: string, value: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
    return `label key "${key}" has an invalid prefix`;
  }
  if (name.length > 63 || !LABEL_NAME.test(name)) return `label key "${key}" is invalid`;
  if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
    return `label "${key}" has an invalid value (at most 63 characters: letters, digits, "-", "_", ".")`;
  }
  return undefined;
}
