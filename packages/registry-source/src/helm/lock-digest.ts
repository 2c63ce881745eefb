import { createHash } from 'node:crypto';
import type { ChartDependency, ChartLockEntry } from '@gitops-kit/core';

/** JSON as Go's `encoding/json` writes it: map keys sorted, `<`, `>`, `&`, U+2028/9 escaped. */
function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sorted(value))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** One dependency in the field order and with the `omitempty` rules of Helm's `chart.Dependency`. */
function dependencyJson(d: ChartDependency | ChartLockEntry): string {
  const full = d as ChartDependency;
  const fields: string[] = [`"name":${goJson(d.name)}`];
  if (d.version) fields.push(`"version":${goJson(d.version)}`);
  fields.push(`"repository":${goJson(d.repository ?? '')}`);
  if (full.condition) fields.push(`"condition":${goJson(full.condition)}`);
  if (full.tags && full.tags.length > 0) fields.push(`"tags":${goJson(full.tags)}`);
  if (full.enabled) fields.push('"enabled":true');
  if (full.importValues && full.importValues.length > 0)
    fields.push(`"import-values":${goJson(full.importValues)}`);
  if (full.alias) fields.push(`"alias":${goJson(full.alias)}`);
  return `{${fields.join(',')}}`;
}

/**
 * The digest `Chart.lock` carries: `sha256` over the JSON of `[Chart.yaml's dependencies, the
 * locked ones]`, as Helm's `resolver.HashReq` computes it. When it differs from the lock's, the lock
 * is out of date and `helm dependency build` refuses it.
 */
export function lockDigest(
  dependencies: readonly ChartDependency[],
  locked: readonly ChartLockEntry[],
): string {
  const list = (items: readonly (ChartDependency | ChartLockEntry)[]): string =>
    items.length === 0 ? 'null' : `[${items.map(dependencyJson).join(',')}]`;
  const json = `[${list(dependencies)},${list(locked)}]`;
  return `sha256:${createHash('sha256').update(json).digest('hex')}`;
}
