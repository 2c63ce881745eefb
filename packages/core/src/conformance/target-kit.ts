import { isDeepStrictEqual } from 'node:util';
import { emptyInventory } from '../plan.js';
import { formatRef, type ObjectRef, refKey, refOf } from '../refs.js';
import type { ApplyResult, Inventory, Manifest, Plan, Target } from '../types.js';
import {
  abortedSignal,
  type ConformanceCheck,
  type ConformanceKit,
  describeThrown,
  expectThat,
  isTypedError,
  settle,
} from './check.js';

/**
 * The Target kit: the invariants the Reconciler relies on, checked against a real implementation.
 * Each check gets a fresh fixture: an empty target (a new namespace, a new state) and a desired set.
 */

/** What the Target kit needs from the author of a Target, made fresh for every check. */
export interface TargetFixture {
  /** The target under test, with nothing of its own written yet. */
  readonly target: Target;
  /** A desired set of at least two distinct objects the target can write (in any order). */
  readonly manifests: readonly Manifest[];
  /**
   * The same objects with the content of at least one changed (and at least one left as it is):
   * checks that only the changed ones are planned as updates. Optional.
   */
  readonly changed?: readonly Manifest[] | undefined;
  /**
   * A snapshot of everything the target could write (objects with their versions, a state serial),
   * compared with `isDeepStrictEqual` before and after calls that must write nothing.
   */
  readonly observe: () => Promise<unknown>;
  /** Whether the object exists in the target's world, whoever owns it. */
  readonly exists: (ref: ObjectRef) => Promise<boolean>;
  /** Creates an object of a kind the target manages that the target does not own, and returns its reference. Optional. */
  readonly foreign?: (() => Promise<ObjectRef>) | undefined;
  /** A set the target must refuse with a typed error (in plan, validate or apply). Optional. */
  readonly invalid?: readonly Manifest[] | undefined;
  /** A reference to an object that does not exist (default: the first planned object's name with `-absent`). */
  readonly missing?: ObjectRef | undefined;
}

const signal = (): AbortSignal => AbortSignal.timeout(120_000);

type Check = ConformanceCheck<TargetFixture>;

/** Group, kind, namespace (when given) and name: how a manifest and a planned object are matched. */
function identityOf(object: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string | undefined };
}): string {
  return refKey(refOf(object));
}

function keys(refs: readonly ObjectRef[]): string[] {
  return refs.map(refKey);
}

function names(refs: readonly ObjectRef[]): string {
  return refs.map(formatRef).join(', ') || 'nothing';
}

/** Plans, validates and applies the fixture's set on the empty target. */
async function applyAll(
  fixture: TargetFixture,
  manifests: readonly Manifest[] = fixture.manifests,
  inventory: Inventory = emptyInventory,
): Promise<{ plan: Plan; result: ApplyResult; inventory: Inventory }> {
  const { target } = fixture;
  const plan = await target.plan(manifests, inventory, { signal: signal() });
  await target.validate(plan, { signal: signal() });
  const result = await target.apply(plan, { signal: signal() });
  return { plan, result, inventory: { entries: result.applied } };
}

async function expectUnchangedWorld(
  check: Check,
  fixture: TargetFixture,
  before: unknown,
  what: string,
): Promise<void> {
  const after = await fixture.observe();
  expectThat(check, isDeepStrictEqual(before, after), `${what} changed what the target holds`);
}

const planIsPure: Check = {
  name: 'target/plan-is-pure',
  description:
    'plan and validate write nothing; the plan is a value (cloneable, every desired object once, create/update/unchanged partition it)',
  stage: 'apply',
  async run(fixture) {
    const before = await fixture.observe();
    const plan = await fixture.target.plan(fixture.manifests, emptyInventory, { signal: signal() });
    await fixture.target.validate(plan, { signal: signal() });
    await expectUnchangedWorld(this, fixture, before, 'plan or validate');
    const again = await fixture.target.plan(fixture.manifests, emptyInventory, { signal: signal() });
    await expectUnchangedWorld(this, fixture, before, 'a second plan');
    expectThat(
      this,
      plan.objects.length === fixture.manifests.length,
      `the plan has ${plan.objects.length} objects for ${fixture.manifests.length} manifests`,
    );
    expectThat(
      this,
      new Set(keys(plan.objects.map((o) => o.ref))).size === plan.objects.length,
      'the plan names an object twice',
    );
    const parts = [...plan.create, ...plan.update, ...plan.unchanged].map((o) => refKey(o.ref)).sort();
    expectThat(
      this,
      isDeepStrictEqual(parts, keys(plan.objects.map((o) => o.ref)).sort()),
      'create, update and unchanged do not partition the objects',
    );
    expectThat(
      this,
      plan.create.length === plan.objects.length,
      `on an empty target every object is a create; got ${plan.create.length} of ${plan.objects.length}`,
    );
    expectThat(this, plan.prune.length === 0, 'an empty inventory has nothing to prune');
    let cloned: Plan | undefined;
    try {
      cloned = structuredClone(plan);
    } catch (error) {
      expectThat(this, false, 'the plan is not a plain value (structuredClone failed)', error);
    }
    expectThat(this, cloned !== undefined, 'the plan could not be cloned');
    expectThat(
      this,
      isDeepStrictEqual(
        again.objects.map((o) => [refKey(o.ref), o.action, o.digest]),
        plan.objects.map((o) => [refKey(o.ref), o.action, o.digest]),
      ),
      'two plans of the same set on the same target differ',
    );
    return undefined;
  },
};

const applyWritesThePlan: Check = {
  name: 'target/apply-writes-the-plan',
  description:
    'apply writes every planned object and returns each one, with the digest planned, as the next inventory',
  stage: 'apply',
  async run(fixture) {
    const { plan, result } = await applyAll(fixture);
    expectThat(
      this,
      isDeepStrictEqual(keys(result.applied.map((e) => e.ref)), keys(plan.objects.map((o) => o.ref))),
      `apply returned ${names(result.applied.map((e) => e.ref))} for a plan of ${names(plan.objects.map((o) => o.ref))}`,
    );
    for (const [index, entry] of result.applied.entries()) {
      expectThat(
        this,
        entry.digest === plan.objects[index]?.digest,
        `${formatRef(entry.ref)}: the applied digest is not the planned one`,
      );
      expectThat(this, await fixture.exists(entry.ref), `${formatRef(entry.ref)} does not exist after apply`);
    }
    expectThat(this, result.writes > 0, 'apply of a plan of creates reported 0 writes');
    return undefined;
  },
};

const unchangedReportedUnchanged: Check = {
  name: 'target/unchanged-reported-unchanged',
  description:
    'after apply, the same set plans as unchanged with no changes, no drift and nothing to prune; a changed object alone is an update',
  stage: 'apply',
  async run(fixture) {
    const { inventory } = await applyAll(fixture);
    const plan = await fixture.target.plan(fixture.manifests, inventory, { signal: signal() });
    const notUnchanged = plan.objects.filter((o) => o.action !== 'unchanged');
    expectThat(
      this,
      notUnchanged.length === 0,
      `planned again as changed: ${names(notUnchanged.map((o) => o.ref))}`,
    );
    expectThat(
      this,
      plan.unchanged.length === plan.objects.length,
      'plan.unchanged does not list every object',
    );
    expectThat(
      this,
      plan.create.length + plan.update.length + plan.drifted.length + plan.prune.length === 0,
      'create, update, drifted or prune is not empty',
    );
    const withChanges = plan.objects.filter((o) => o.changes.length > 0 || o.drifted);
    expectThat(
      this,
      withChanges.length === 0,
      `unchanged objects with changes or drift: ${names(withChanges.map((o) => o.ref))}`,
    );
    if (!fixture.changed) return undefined;
    const changed = await fixture.target.plan(fixture.changed, inventory, { signal: signal() });
    // An object is edited when its manifest in `changed` differs from the one in `manifests`
    // (matched by identity, since a target may normalize what it keeps in the plan).
    const original = new Map(fixture.manifests.map((m) => [identityOf(m.object), JSON.stringify(m.object)]));
    const edits = new Set(
      fixture.changed
        .filter((m) => original.get(identityOf(m.object)) !== JSON.stringify(m.object))
        .map((m) => identityOf(m.object)),
    );
    expectThat(
      this,
      edits.size > 0 && edits.size < fixture.changed.length,
      "the fixture's `changed` set must edit some objects and keep others",
    );
    for (const object of changed.objects) {
      const edited =
        edits.has(
          identityOf({ apiVersion: object.ref.apiVersion, kind: object.ref.kind, metadata: object.ref }),
        ) ||
        edits.has(
          identityOf({
            apiVersion: object.ref.apiVersion,
            kind: object.ref.kind,
            metadata: { name: object.ref.name },
          }),
        );
      if (edited) {
        expectThat(
          this,
          object.action === 'update',
          `${formatRef(object.ref)} was edited but planned as ${object.action}`,
        );
        expectThat(
          this,
          object.changes.length > 0,
          `${formatRef(object.ref)} is an update without field changes`,
        );
        expectThat(
          this,
          !object.drifted,
          `${formatRef(object.ref)}: a change of the desired state is not drift`,
        );
      } else {
        expectThat(
          this,
          object.action === 'unchanged',
          `${formatRef(object.ref)} was not edited but planned as ${object.action}`,
        );
      }
    }
    return undefined;
  },
};

const applyIsIdempotent: Check = {
  name: 'target/apply-is-idempotent',
  description:
    'applying the same plan a second time writes nothing, and applying an all-unchanged plan reports 0 writes',
  stage: 'apply',
  async run(fixture) {
    const { plan, inventory } = await applyAll(fixture);
    const before = await fixture.observe();
    const second = await fixture.target.apply(plan, { signal: signal() });
    await expectUnchangedWorld(this, fixture, before, 'a second apply of the same plan');
    expectThat(
      this,
      isDeepStrictEqual(keys(second.applied.map((e) => e.ref)), keys(inventory.entries.map((e) => e.ref))),
      'a second apply returned another inventory',
    );
    const unchanged = await fixture.target.plan(fixture.manifests, inventory, { signal: signal() });
    const third = await fixture.target.apply(unchanged, { signal: signal() });
    expectThat(this, third.writes === 0, `applying an all-unchanged plan reported ${third.writes} writes`);
    await expectUnchangedWorld(this, fixture, before, 'applying an all-unchanged plan');
    return undefined;
  },
};

const pruneOnlyGiven: Check = {
  name: 'target/prune-deletes-only-what-it-is-given',
  description:
    'prune deletes exactly the entries given (the others stay), and an entry already gone is not a failure',
  stage: 'prune',
  async run(fixture) {
    const { inventory } = await applyAll(fixture);
    const [kept, gone] = [inventory.entries.slice(0, -1), inventory.entries.at(-1)];
    expectThat(this, gone !== undefined, 'apply returned no inventory');
    const result = await fixture.target.prune([gone], { signal: signal() });
    expectThat(
      this,
      result.failed.length === 0,
      `prune failed: ${result.failed.map((f) => f.message).join('; ')}`,
    );
    expectThat(
      this,
      isDeepStrictEqual(keys(result.deleted), [refKey(gone.ref)]),
      `prune of ${formatRef(gone.ref)} reported ${names(result.deleted)} deleted`,
    );
    expectThat(this, !(await fixture.exists(gone.ref)), `${formatRef(gone.ref)} still exists after prune`);
    for (const entry of kept)
      expectThat(
        this,
        await fixture.exists(entry.ref),
        `${formatRef(entry.ref)} was not given to prune but is gone`,
      );
    const again = await fixture.target.prune([gone], { signal: signal() });
    expectThat(
      this,
      again.failed.length === 0,
      `pruning an entry already gone failed: ${again.failed.map((f) => f.message).join('; ')}`,
    );
    return undefined;
  },
};

const pruneOnlyOwned: Check = {
  name: 'target/prune-deletes-only-what-it-owns',
  description: 'an entry naming an object the target does not own is skipped, never deleted',
  stage: 'prune',
  async run(fixture) {
    if (!fixture.foreign) return { skipped: true, reason: 'the fixture makes no foreign object' };
    await applyAll(fixture);
    const ref = await fixture.foreign();
    expectThat(this, await fixture.exists(ref), `the foreign object ${formatRef(ref)} does not exist`);
    const result = await fixture.target.prune([{ ref, digest: 'sha256:conformance-foreign' }], {
      signal: signal(),
    });
    expectThat(
      this,
      !keys(result.deleted).includes(refKey(ref)),
      `the foreign object ${formatRef(ref)} was reported deleted`,
    );
    expectThat(this, await fixture.exists(ref), `the foreign object ${formatRef(ref)} was deleted`);
    expectThat(
      this,
      keys(result.skipped.map((s) => s.ref)).includes(refKey(ref)),
      'the foreign object is not reported skipped (with a reason)',
    );
    return undefined;
  },
};

const healthOfEveryRef: Check = {
  name: 'target/health-reports-every-ref-asked',
  description:
    'health answers for exactly the refs asked, in the order asked, a missing object included (not Current), with a consistent summary',
  stage: 'health',
  async run(fixture) {
    const { inventory } = await applyAll(fixture);
    const first = inventory.entries[0]?.ref;
    expectThat(this, first !== undefined, 'apply returned no inventory');
    const missing = fixture.missing ?? { ...first, name: `${first.name}-absent` };
    const asked = [...inventory.entries.map((e) => e.ref)].reverse();
    asked.splice(1, 0, missing);
    const report = await fixture.target.health(asked, { signal: signal() });
    expectThat(
      this,
      isDeepStrictEqual(keys(report.objects.map((o) => o.ref)), keys(asked)),
      `asked ${names(asked)}, answered ${names(report.objects.map((o) => o.ref))}`,
    );
    const absent = report.objects[1];
    expectThat(
      this,
      absent !== undefined && absent.status !== 'Current',
      `the missing object ${formatRef(missing)} is reported ${absent?.status}`,
    );
    const statuses = report.objects.map((o) => o.status);
    const expected = statuses.includes('Failed')
      ? 'Failed'
      : statuses.every((s) => s === 'Current')
        ? 'Current'
        : 'InProgress';
    expectThat(
      this,
      report.status === expected,
      `the report says ${report.status} for ${statuses.join(', ')}`,
    );
    const empty = await fixture.target.health([], { signal: signal() });
    expectThat(this, empty.objects.length === 0, 'health of no refs answered for some');
    return undefined;
  },
};

const abortStopsWork: Check = {
  name: 'target/aborted-signal-stops-work',
  description: 'every method rejects when its signal is already aborted, and writes nothing',
  stage: 'apply',
  async run(fixture) {
    const { target } = fixture;
    const aborted = abortedSignal();
    const before = await fixture.observe();
    const plan = await target.plan(fixture.manifests, emptyInventory, { signal: signal() });
    const calls: [string, () => Promise<unknown>][] = [
      ['plan', () => target.plan(fixture.manifests, emptyInventory, { signal: aborted })],
      ['validate', () => target.validate(plan, { signal: aborted })],
      ['apply', () => target.apply(plan, { signal: aborted })],
      ['health', () => target.health([plan.objects[0]?.ref as ObjectRef], { signal: aborted })],
    ];
    if (target.listOwned) {
      const listOwned = target.listOwned.bind(target);
      calls.push(['listOwned', () => listOwned({ signal: aborted })]);
    }
    for (const [name, call] of calls) {
      const outcome = await settle(call());
      expectThat(this, !outcome.ok, `${name} resolved although its signal was aborted`);
    }
    await expectUnchangedWorld(this, fixture, before, 'calls with an aborted signal');
    const { inventory } = await applyAll(fixture);
    const applied = await fixture.observe();
    const prune = await settle(target.prune(inventory.entries, { signal: aborted }));
    expectThat(this, !prune.ok, 'prune resolved although its signal was aborted');
    await expectUnchangedWorld(this, fixture, applied, 'prune with an aborted signal');
    return undefined;
  },
};

const errorsAreTyped: Check = {
  name: 'target/errors-are-typed',
  description:
    'an invalid set is refused with a gitops-kit error (a stable code, a stage); a refusal before apply writes nothing',
  stage: 'validation',
  async run(fixture) {
    if (!fixture.invalid) return { skipped: true, reason: 'the fixture has no invalid set' };
    const { target } = fixture;
    const before = await fixture.observe();
    let step = 'plan';
    try {
      const plan = await target.plan(fixture.invalid, emptyInventory, { signal: signal() });
      step = 'validate';
      await target.validate(plan, { signal: signal() });
      step = 'apply';
      await target.apply(plan, { signal: signal() });
    } catch (error) {
      expectThat(
        this,
        isTypedError(error),
        `${step} threw an untyped error (${describeThrown(error)})`,
        error,
      );
      expectThat(this, error.message.length > 0, `${step} threw an error without a message`);
      if (step !== 'apply') await expectUnchangedWorld(this, fixture, before, `a refusal in ${step}`);
      if (step === 'apply') {
        const applied = (error as { applied?: unknown }).applied;
        expectThat(
          this,
          Array.isArray(applied),
          'an apply failure does not list what was written (ApplyError.applied)',
        );
      }
      return undefined;
    }
    expectThat(this, false, 'the invalid set was planned, validated and applied without an error');
    return undefined;
  },
};

const listOwnedListsApplied: Check = {
  name: 'target/list-owned-lists-what-apply-wrote',
  description:
    'listOwned (when present) names every object apply wrote, no longer names a pruned one, and never a foreign one',
  stage: 'reconcile',
  async run(fixture) {
    const { target } = fixture;
    if (!target.listOwned) return { skipped: true, reason: 'the target has no listOwned' };
    const empty = await target.listOwned({ signal: signal() });
    expectThat(this, empty.length === 0, `an empty target lists ${names(empty)} as owned`);
    const { inventory } = await applyAll(fixture);
    const foreign = fixture.foreign ? await fixture.foreign() : undefined;
    const owned = new Set(keys(await target.listOwned({ signal: signal() })));
    const missing = inventory.entries.filter((e) => !owned.has(refKey(e.ref)));
    expectThat(this, missing.length === 0, `listOwned lacks ${names(missing.map((e) => e.ref))}`);
    if (foreign)
      expectThat(
        this,
        !owned.has(refKey(foreign)),
        `listOwned names the foreign object ${formatRef(foreign)}`,
      );
    const gone = inventory.entries.at(-1);
    if (gone) {
      await target.prune([gone], { signal: signal() });
      const after = new Set(keys(await target.listOwned({ signal: signal() })));
      expectThat(
        this,
        !after.has(refKey(gone.ref)),
        `listOwned still names the pruned ${formatRef(gone.ref)}`,
      );
    }
    return undefined;
  },
};

/** The Target conformance kit: every check a Target must pass for the Reconciler to keep its invariants. */
export const targetConformance: ConformanceKit<TargetFixture> = {
  name: 'target',
  checks: [
    planIsPure,
    applyWritesThePlan,
    unchangedReportedUnchanged,
    applyIsIdempotent,
    pruneOnlyGiven,
    pruneOnlyOwned,
    healthOfEveryRef,
    abortStopsWork,
    errorsAreTyped,
    listOwnedListsApplied,
  ],
};
