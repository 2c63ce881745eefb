import { type KubeObject, type PlannedObject, refKey } from '@gitops-kit/core';
import type { Prepared } from './prepare.js';
import type { LiveObjects } from './read-live.js';

/**
 * Plans each desired object the moment its live object is read, so a plan of 10,000 objects never
 * holds 10,000 live bodies at once: an unchanged object keeps only its identity (see
 * {@link liveSummary}), a changed one its live body (for diffs and removed fields). Listed objects
 * that are not in the desired set are dropped on arrival.
 */
export class PlanningSink implements LiveObjects {
  readonly #wanted: Map<string, Prepared>;
  readonly #plan: (item: Prepared, live: KubeObject) => PlannedObject;
  readonly #planned = new Map<string, PlannedObject>();

  constructor(prepared: readonly Prepared[], plan: (item: Prepared, live: KubeObject) => PlannedObject) {
    this.#wanted = new Map(prepared.map((p) => [refKey(p.ref), p]));
    this.#plan = plan;
  }

  /** Whether the object was read. */
  has(key: string): boolean {
    return this.#planned.has(key);
  }

  /** Plans the desired object of `key` against its live object. */
  set(key: string, object: KubeObject): void {
    const item = this.#wanted.get(key);
    if (item) this.#planned.set(key, this.#plan(item, object));
  }

  /** The plan of an object that was read, or undefined when it was not (it does not exist). */
  planned(item: Prepared): PlannedObject | undefined {
    return this.#planned.get(refKey(item.ref));
  }
}

/**
 * What an unchanged object's plan keeps of its live object: kind, name and metadata (labels,
 * annotations, resourceVersion, uid) without managed fields, body and status. An unchanged object
 * has no diff to print, and what it needs is whether it exists and what marks it carries.
 */
export function liveSummary(live: KubeObject): KubeObject {
  const { managedFields: _managedFields, ...metadata } = live.metadata as KubeObject['metadata'] & {
    managedFields?: unknown;
  };
  return { apiVersion: live.apiVersion, kind: live.kind, metadata };
}
