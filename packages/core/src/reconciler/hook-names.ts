/**
 * Names for hooks the API server would name (`metadata.generateName`), and the key under which the
 * objects written for a hook are recorded in the stored state.
 *
 * The name is chosen here, before the plan, the way the API server chooses it (the prefix cut to 58
 * characters and five random characters of its alphabet), rather than by a `create` with
 * `generateName`: the plan, the validation, the apply, the delete policies and the record in the
 * state then all see one name, on every target, and the record is written before the object exists
 * (so a crash right after the create leaves nothing untracked).
 */
import { randomInt } from 'node:crypto';
import { groupOf } from '../refs.js';
import type { KubeObject, Manifest } from '../types.js';

/** The API server's alphabet for generated names (no vowels, no look-alike digits). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** The API server keeps at most this much of the prefix, so prefix plus suffix fit 63 characters. */
const MAX_PREFIX = 58;

function generateNameOf(object: KubeObject): string | undefined {
  const value: unknown = object.metadata?.generateName;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The manifests with a name chosen for every object that has `metadata.generateName` and no name
 * (the renderer lets only hooks through like that). `generateName` stays in the object, so the
 * record key (`hookRecordKey`) still knows it is one hook across passes.
 */
export function nameGenerated(manifests: readonly Manifest[]): readonly Manifest[] {
  if (!manifests.some((m) => typeof m.object.metadata?.name !== 'string' && generateNameOf(m.object))) {
    return manifests;
  }
  return manifests.map((manifest) => {
    const prefix = generateNameOf(manifest.object);
    if (typeof manifest.object.metadata?.name === 'string' || prefix === undefined) return manifest;
    let suffix = '';
    for (let i = 0; i < 5; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
    const name = `${prefix.slice(0, MAX_PREFIX)}${suffix}`;
    return { ...manifest, object: { ...manifest.object, metadata: { ...manifest.object.metadata, name } } };
  });
}

/** Whether the object's name was chosen from its `generateName`. */
export function hasGeneratedName(object: KubeObject): boolean {
  return generateNameOf(object) !== undefined;
}

/**
 * The key a hook's objects are recorded under, stable across passes: `group/kind/namespace/name`,
 * or `group/kind/namespace/prefix*` for a generated name (each pass creates a new object).
 */
export function hookRecordKey(manifest: Manifest, namespace: string | undefined): string {
  const { apiVersion, kind } = manifest.object;
  const prefix = generateNameOf(manifest.object);
  const name = prefix === undefined ? manifest.object.metadata.name : `${prefix}*`;
  return `${groupOf(apiVersion)}/${kind}/${namespace ?? ''}/${name}`;
}
