import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  ApplyError,
  type ApplyResult,
  buildPlan,
  diffObjects,
  digestObject,
  ErrorCodes,
  formatRef,
  type HealthReport,
  type Inventory,
  type InventoryEntry,
  type KubeObject,
  type Manifest,
  type ObjectRef,
  type Plan,
  type PlannedObject,
  type PlanOptions,
  type PruneResult,
  pruneCandidates,
  refOf,
  summarizeHealth,
  type Target,
  type TargetCallOptions,
  ValidationError,
  type ValidationIssue,
} from '@gitops-kit/core';

/**
 * A custom, non-Kubernetes Target: each object is a JSON file in a folder that some program
 * reads (`<kind>.<namespace>.<name>.json`), stamped with the owner that wrote it. It keeps every
 * rule the Reconciler relies on: plan writes nothing, apply writes only what differs, prune deletes
 * only entries it is given and only files it owns, health answers for exactly the refs asked, and
 * every method stops on an aborted signal.
 */

/** What a file holds: the object and who wrote it (the ownership mark). */
interface StoredObject {
  readonly owner: string;
  readonly object: KubeObject;
}

/** Options of {@link JsonFolderTarget}. */
export interface JsonFolderTargetOptions {
  /** The folder the files go to (created on the first apply). */
  readonly dir: string;
  /** The ownership mark written into every file; prune deletes only files that carry it. */
  readonly owner: string;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** A Target writing objects as JSON files. */
export class JsonFolderTarget implements Target {
  readonly name = 'json-folder';
  readonly #dir: string;
  readonly #owner: string;

  /** @param options the folder and the ownership mark. */
  constructor(options: JsonFolderTargetOptions) {
    this.#dir = options.dir;
    this.#owner = options.owner;
  }

  /** The file of an object. */
  fileOf(ref: ObjectRef): string {
    return join(this.#dir, `${ref.kind}.${ref.namespace ?? '_'}.${ref.name}.json`);
  }

  /** Compares every desired object with its file. Reads only. */
  async plan(manifests: readonly Manifest[], inventory: Inventory, { signal }: PlanOptions): Promise<Plan> {
    signal.throwIfAborted();
    const lastApplied = new Map(inventory.entries.map((e) => [formatRef(e.ref), e.digest]));
    const objects: PlannedObject[] = [];
    for (const manifest of manifests) {
      signal.throwIfAborted();
      const ref = refOf(manifest.object);
      const digest = digestObject(manifest.object);
      const live = await this.#read(ref);
      const base = { ref, manifest, digest };
      if (!live) {
        objects.push({
          ...base,
          action: 'create',
          drifted: false,
          changes: diffObjects(undefined, manifest.object),
        });
      } else if (live.owner === this.#owner && isDeepStrictEqual(live.object, manifest.object)) {
        objects.push({ ...base, action: 'unchanged', drifted: false, changes: [], live: live.object });
      } else {
        // The desired object is what we applied last, yet the file differs: someone edited it.
        const drifted = lastApplied.get(formatRef(ref)) === digest;
        objects.push({
          ...base,
          action: 'update',
          drifted,
          changes: diffObjects(live.object, manifest.object),
          live: live.object,
        });
      }
    }
    return buildPlan(
      objects,
      pruneCandidates(
        inventory,
        objects.map((o) => o.ref),
      ),
    );
  }

  /** Refuses names that cannot be file names, all at once. Writes nothing. */
  async validate(plan: Plan, { signal }: TargetCallOptions): Promise<void> {
    signal.throwIfAborted();
    const issues: ValidationIssue[] = plan.objects
      .filter((o) => !NAME.test(o.ref.name) || (o.ref.namespace !== undefined && !NAME.test(o.ref.namespace)))
      .map((o) => ({
        message: 'names must be lower-case letters, digits, `-` and `.`',
        location: { file: o.manifest.origin.file, line: o.manifest.origin.line, object: formatRef(o.ref) },
      }));
    if (issues.length > 0) throw new ValidationError(ErrorCodes.ValidationFailed, issues);
  }

  /** Writes the objects whose file differs (atomically, through a rename); the others are left alone. */
  async apply(plan: Plan, { signal }: TargetCallOptions): Promise<ApplyResult> {
    const applied: InventoryEntry[] = [];
    let writes = 0;
    for (const planned of plan.objects) {
      signal.throwIfAborted();
      const live = await this.#read(planned.ref);
      const same = live?.owner === this.#owner && isDeepStrictEqual(live.object, planned.manifest.object);
      if (!same) {
        try {
          await this.#write(planned.ref, { owner: this.#owner, object: planned.manifest.object });
        } catch (cause) {
          throw new ApplyError(ErrorCodes.ApplyFailed, 'cannot write the file', {
            applied,
            cause,
            location: { file: planned.manifest.origin.file, object: formatRef(planned.ref) },
          });
        }
        writes++;
      }
      applied.push({ ref: planned.ref, digest: planned.digest });
    }
    return { applied, writes };
  }

  /** Deletes the entries' files that carry our mark; a file already gone counts as deleted. */
  async prune(entries: readonly InventoryEntry[], { signal }: TargetCallOptions): Promise<PruneResult> {
    const result: {
      deleted: ObjectRef[];
      skipped: PruneResult['skipped'][number][];
      failed: PruneResult['failed'][number][];
    } = {
      deleted: [],
      skipped: [],
      failed: [],
    };
    for (const entry of entries) {
      signal.throwIfAborted();
      const live = await this.#read(entry.ref);
      if (live && live.owner !== this.#owner) {
        result.skipped.push({ ref: entry.ref, reason: `written by ${live.owner}, not ${this.#owner}` });
        continue;
      }
      try {
        await rm(this.fileOf(entry.ref), { force: true });
        result.deleted.push(entry.ref);
      } catch (error) {
        result.failed.push({ entry, message: (error as Error).message });
      }
    }
    return result;
  }

  /** A file we own is `Current`; anything else `NotFound`. One answer per ref, in the order asked. */
  async health(refs: readonly ObjectRef[], { signal }: TargetCallOptions): Promise<HealthReport> {
    signal.throwIfAborted();
    const objects = [];
    for (const ref of refs) {
      const live = await this.#read(ref);
      objects.push(
        live?.owner === this.#owner
          ? { ref, status: 'Current' as const, message: 'written' }
          : { ref, status: 'NotFound' as const, message: 'no file of ours' },
      );
    }
    return summarizeHealth(objects);
  }

  /** Every file carrying our mark: what a lost inventory is recovered from. */
  async listOwned({ signal }: TargetCallOptions): Promise<readonly ObjectRef[]> {
    signal.throwIfAborted();
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    const owned: ObjectRef[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const stored = await readStored(join(this.#dir, name));
      if (stored?.owner === this.#owner) owned.push(refOf(stored.object));
    }
    return owned;
  }

  async #read(ref: ObjectRef): Promise<StoredObject | undefined> {
    return readStored(this.fileOf(ref));
  }

  async #write(ref: ObjectRef, stored: StoredObject): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const file = this.fileOf(ref);
    await writeFile(`${file}.tmp`, `${JSON.stringify(stored, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  }
}

async function readStored(file: string): Promise<StoredObject | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredObject;
  } catch {
    return undefined;
  }
}
