import type { KubeObject } from '../types.js';

/**
 * Per-object apply policies, by annotation, with Flux's semantics (kustomize-controller's
 * `kustomize.toolkit.fluxcd.io/ssa`), so a repository written for Flux behaves the same here.
 * Next to `conventions.ts`: pure data, read by the Kubernetes target and the FakeCluster alike.
 */

/** The annotation choosing how gitops-kit applies an object (see {@link ApplyPolicy}). */
export const SSA_ANNOTATION = 'gitops-kit.dev/ssa';
/** Flux's annotation of the same name and values, honoured too ({@link SSA_ANNOTATION} wins). */
export const FLUX_SSA_ANNOTATION = 'kustomize.toolkit.fluxcd.io/ssa';

/**
 * How an object is applied:
 * - `Override` (default): applied with force; fields changed by others are taken back (drift).
 * - `Merge`: applied without taking fields other managers own: those are not sent, not compared.
 * - `IfNotPresent`: created when absent, never updated (nor reported as drifted).
 * - `Ignore`: never applied and never pruned.
 */
export type ApplyPolicy = 'Override' | 'Merge' | 'IfNotPresent' | 'Ignore';

const POLICIES: readonly ApplyPolicy[] = ['Override', 'Merge', 'IfNotPresent', 'Ignore'];

/**
 * The apply policy an object asks for: {@link SSA_ANNOTATION}, else {@link FLUX_SSA_ANNOTATION},
 * values compared without case (Flux accepts `merge` too); a missing or unknown value is `Override`.
 */
export function applyPolicyOf(object: Pick<KubeObject, 'metadata'> | undefined): ApplyPolicy {
  const annotations = object?.metadata.annotations;
  const value = annotations?.[SSA_ANNOTATION] ?? annotations?.[FLUX_SSA_ANNOTATION];
  if (value === undefined) return 'Override';
  return POLICIES.find((p) => p.toLowerCase() === value.trim().toLowerCase()) ?? 'Override';
}

/** Why an object is kept from pruning by its policy (`Ignore`), or undefined when it is not. */
export function keptByApplyPolicy(object: Pick<KubeObject, 'metadata'> | undefined): string | undefined {
  if (applyPolicyOf(object) !== 'Ignore') return undefined;
  const name =
    object?.metadata.annotations?.[SSA_ANNOTATION] !== undefined ? SSA_ANNOTATION : FLUX_SSA_ANNOTATION;
  return `kept by annotation ${name}: Ignore`;
}
