import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApplyError,
  type ApplyResult,
  buildPlan,
  diffValues,
  digestObject,
  formatRef,
  type HealthReport,
  type Inventory,
  type InventoryEntry,
  MASKED_VALUE,
  type Manifest,
  type ObjectHealth,
  type ObjectRef,
  type Plan,
  type PlannedObject,
  type PlanOptions,
  type PruneResult,
  pruneCandidates,
  refKey,
  refOf,
  summarizeHealth,
  type Target,
  type TargetCallOptions,
  ValidationError,
} from '@gitops-kit/core';
import { TofuError, TofuErrorCodes } from './errors.js';
import { addressOf, isModule, MODULE_KIND, MODULE_NAME, TOFU_API_VERSION } from './model.js';
import { moduleFiles, writeModule } from './module-files.js';
import {
  actionOf,
  fieldChanges,
  type TofuAction,
  type TofuCheck,
  type TofuPlanJson,
  type TofuResourceChange,
  type TofuStateJson,
} from './plan-json.js';
import { diagnostics, runTofu, type TofuRun, type TofuRunnerOptions } from './tofu.js';

/**
 * A Target that drives OpenTofu. The inventory names resource addresses (kind = resource type,
 * name = resource name) and the `Module` manifest; the state, kept by OpenTofu's backend (S3 with
 * a lock file here), is the ownership mark: prune destroys only resources that are in it.
 *
 *   plan     writes the module folder, `tofu init`, `tofu plan -out=<file>` (resources removed from
 *            the set are `-exclude`d: prune deletes them, and only those the inventory names),
 *            `tofu show -json <file>` mapped to a Plan
 *   apply    `tofu apply <file>`: exactly the reviewed plan; a plan already applied is planned
 *            again and must have nothing left to do
 *   prune    `tofu destroy -target=...` of the entries that are in the state
 *   health   resources in the state are Current; the Module's health is its check blocks
 *   drift    `tofu plan -refresh-only` (see {@link TofuTarget.detectDrift})
 */

/** An S3 backend (OpenTofu's `backend "s3"`), with S3-native locking (`use_lockfile`). */
export interface TofuS3Backend {
  readonly bucket: string;
  /** The state object's key. */
  readonly key: string;
  readonly region: string;
  /** An S3-compatible endpoint (MinIO); path-style addressing is used. */
  readonly endpoint?: string | undefined;
  /** Passed as `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, never written to a file. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

/** Options of {@link TofuTarget}. */
export interface TofuTargetOptions {
  /** A short name for logs and status (default `opentofu`). */
  readonly name?: string | undefined;
  /** The `tofu` binary. */
  readonly binary: string;
  /** A folder the target owns: the module it plans, its plan files, tofu's home. */
  readonly workDir: string;
  /** Where the state lives. */
  readonly backend: TofuS3Backend;
  /** A filesystem mirror of providers (`provider_installation { filesystem_mirror }`); none are downloaded. */
  readonly providerMirror?: string | undefined;
  /** An output whose value `false` makes the Module unhealthy, besides its check blocks (default `healthy`). */
  readonly healthOutput?: string | undefined;
}

/** What one resource address will do, in OpenTofu's terms (a replace is an `update` in the Plan). */
export interface TofuPlannedAction {
  readonly address: string;
  readonly action: TofuAction;
}

/** A drift found by a refresh-only plan. */
export interface TofuDrift {
  readonly address: string;
  readonly action: TofuAction;
  readonly changes: ReturnType<typeof fieldChanges>;
}

interface PlanRecord {
  readonly file: string;
  readonly changes: boolean;
  readonly excludes: readonly string[];
  readonly actions: readonly TofuPlannedAction[];
  applied: boolean;
}

const MODULE_REF: ObjectRef = { apiVersion: TOFU_API_VERSION, kind: MODULE_KIND, name: MODULE_NAME };

/** The OpenTofu Target. */
export class TofuTarget implements Target {
  readonly name: string;
  readonly #options: TofuTargetOptions;
  readonly #moduleDir: string;
  readonly #plansDir: string;
  readonly #runner: TofuRunnerOptions;
  readonly #plans = new WeakMap<Plan, PlanRecord>();
  #prepared: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #initialized: string | undefined;

  /** @param options binary, work folder, backend and provider mirror. */
  constructor(options: TofuTargetOptions) {
    this.name = options.name ?? 'opentofu';
    this.#options = options;
    this.#moduleDir = join(options.workDir, 'module');
    this.#plansDir = join(options.workDir, 'plans');
    const { credentials } = options.backend;
    this.#runner = {
      binary: options.binary,
      cliConfigFile: join(options.workDir, 'tofu.tfrc'),
      home: join(options.workDir, 'home'),
      env: credentials
        ? { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey }
        : {},
    };
  }

  /** Plans the set: creates, updates and replaces per resource address, with field changes. Writes nothing to the state. */
  async plan(manifests: readonly Manifest[], inventory: Inventory, options: PlanOptions): Promise<Plan> {
    options.signal.throwIfAborted();
    return this.#exclusive(() => this.#plan(manifests, inventory, options));
  }

  async #plan(manifests: readonly Manifest[], inventory: Inventory, { signal }: PlanOptions): Promise<Plan> {
    signal.throwIfAborted();
    const ordered = [...manifests].sort((a, b) => Number(isModule(b.object)) - Number(isModule(a.object)));
    await this.#writeAndInit(ordered, signal);
    const state = await this.#state(signal);
    const desired = new Set(
      ordered.filter((m) => !isModule(m.object)).map((m) => addressOf(refOf(m.object))),
    );
    const excludes = stateAddresses(state).filter((address) => !desired.has(baseAddress(address)));
    await mkdir(this.#plansDir, { recursive: true });
    const file = join(this.#plansDir, `${Date.now()}-${randomBytes(4).toString('hex')}.tfplan`);
    const args = [
      'plan',
      '-input=false',
      '-no-color',
      '-detailed-exitcode',
      `-out=${file}`,
      ...excludes.map((a) => `-exclude=${a}`),
    ];
    const run = await this.#tofu(args, signal);
    if (run.code !== 0 && run.code !== 2) throw planFailure(run, ordered);
    const json = JSON.parse(
      (await this.#tofuOk(['show', '-json', '-no-color', file], signal, 'validation')).stdout,
    ) as TofuPlanJson;
    const lastApplied = new Map(inventory.entries.map((e) => [refKey(e.ref), e.digest]));
    const fresh = stateAddresses(state).length === 0 && !state.values?.outputs;
    const objects = ordered.map((manifest) => this.#planned(manifest, json, lastApplied, fresh));
    const plan = buildPlan(
      objects,
      pruneCandidates(
        inventory,
        objects.map((o) => o.ref),
      ),
    );
    const actions = (json.resource_changes ?? []).map((c) => ({
      address: c.address,
      action: actionOf(c.change.actions),
    }));
    this.#plans.set(plan, { file, changes: run.code === 2, excludes, actions, applied: false });
    return plan;
  }

  /** Resource addresses and what OpenTofu will do to each, for a plan this target made. */
  actionsOf(plan: Plan): readonly TofuPlannedAction[] {
    return this.#plans.get(plan)?.actions ?? [];
  }

  /** `tofu plan` already validated the configuration; this checks that the plan is one of ours. */
  async validate(plan: Plan, { signal }: TargetCallOptions): Promise<void> {
    signal.throwIfAborted();
    if (!this.#plans.has(plan)) {
      throw new ValidationError(TofuErrorCodes.ValidationFailed, [
        { message: 'the plan was not made by this OpenTofu target' },
      ]);
    }
  }

  /** Applies exactly the reviewed plan file. */
  async apply(plan: Plan, options: TargetCallOptions): Promise<ApplyResult> {
    options.signal.throwIfAborted();
    return this.#exclusive(() => this.#apply(plan, options));
  }

  async #apply(plan: Plan, { signal }: TargetCallOptions): Promise<ApplyResult> {
    signal.throwIfAborted();
    const record = this.#plans.get(plan);
    if (!record)
      throw new ApplyError(TofuErrorCodes.ApplyUnknownPlan, 'the plan was not made by this OpenTofu target');
    const applied = plan.objects.map((o) => ({ ref: o.ref, digest: o.digest }));
    if (record.applied || !record.changes) {
      // A saved plan can be applied once. Applied again, it must find nothing left to do.
      if (record.applied) await this.#expectNoChanges(record, signal);
      return { applied, writes: 0 };
    }
    const run = await this.#tofu(
      ['apply', '-input=false', '-no-color', '-auto-approve', record.file],
      signal,
    );
    record.applied = true;
    await rm(record.file, { force: true });
    if (run.code !== 0) {
      const state = await this.#state(signal).catch(() => ({}) as TofuStateJson);
      const inState = new Set(stateAddresses(state).map(baseAddress));
      throw new ApplyError(TofuErrorCodes.ApplyFailed, `tofu apply failed:\n${diagnostics(run)}`, {
        applied: applied.filter((e) => isModule(e.ref) || inState.has(addressOf(e.ref))),
      });
    }
    return { applied, writes: record.actions.filter((a) => a.action !== 'no-op').length || 1 };
  }

  /** Destroys the entries' resources that are in the state; anything else is skipped (not ours). */
  async prune(entries: readonly InventoryEntry[], options: TargetCallOptions): Promise<PruneResult> {
    options.signal.throwIfAborted();
    return this.#exclusive(() => this.#prune(entries, options));
  }

  async #prune(entries: readonly InventoryEntry[], { signal }: TargetCallOptions): Promise<PruneResult> {
    signal.throwIfAborted();
    const result: {
      deleted: ObjectRef[];
      skipped: { ref: ObjectRef; reason: string }[];
      failed: { entry: InventoryEntry; message: string }[];
    } = { deleted: [], skipped: [], failed: [] };
    const state = await this.#state(signal);
    const resources = state.values?.root_module?.resources ?? [];
    const inState = new Set(resources.map((r) => baseAddress(r.address)));
    const doomed: InventoryEntry[] = [];
    for (const entry of entries) {
      if (isModule(entry.ref))
        result.skipped.push({ ref: entry.ref, reason: 'the module is not a resource' });
      else if (!inState.has(addressOf(entry.ref)))
        result.skipped.push({ ref: entry.ref, reason: 'not in this state: not ours to destroy' });
      else doomed.push(entry);
    }
    // `destroy -target` takes dependents along: refuse what others still depend on.
    const targets = new Set(doomed.map((e) => addressOf(e.ref)));
    const blocked = new Map<string, string>();
    for (const r of resources) {
      if (targets.has(baseAddress(r.address))) continue;
      for (const dep of r.depends_on ?? [])
        if (targets.has(baseAddress(dep))) blocked.set(baseAddress(dep), r.address);
    }
    const go = doomed.filter((e) => {
      const by = blocked.get(addressOf(e.ref));
      if (by) result.failed.push({ entry: e, message: `${by} depends on it` });
      return !by;
    });
    if (go.length === 0) return result;
    const run = await this.#tofu(
      [
        'destroy',
        '-input=false',
        '-no-color',
        '-auto-approve',
        ...go.map((e) => `-target=${addressOf(e.ref)}`),
      ],
      signal,
    );
    const after = new Set(stateAddresses(await this.#state(signal)).map(baseAddress));
    for (const entry of go) {
      if (!after.has(addressOf(entry.ref))) result.deleted.push(entry.ref);
      else
        result.failed.push({ entry, message: run.code === 0 ? 'still in the state' : diagnostics(run, 4) });
    }
    return result;
  }

  /** Resources in the state are Current, others NotFound; the Module is as healthy as its check blocks. */
  async health(refs: readonly ObjectRef[], options: TargetCallOptions): Promise<HealthReport> {
    options.signal.throwIfAborted();
    return this.#exclusive(() => this.#health(refs, options));
  }

  async #health(refs: readonly ObjectRef[], { signal }: TargetCallOptions): Promise<HealthReport> {
    signal.throwIfAborted();
    if (refs.length === 0) return summarizeHealth([]);
    const state = await this.#state(signal);
    const inState = new Set(stateAddresses(state).map(baseAddress));
    let checks = state.checks;
    if (refs.some(isModule) && checks?.some((c) => c.status === 'unknown'))
      checks = (await this.#refreshOnly(signal)).checks ?? [];
    const objects = refs.map((ref): ObjectHealth => {
      if (isModule(ref)) {
        if (ref.name !== MODULE_NAME || !hasState(state))
          return { ref, status: 'NotFound', message: 'no state' };
        return moduleHealth(ref, state, checks ?? [], this.#options.healthOutput ?? 'healthy');
      }
      return inState.has(addressOf(ref))
        ? { ref, status: 'Current', message: 'in the state' }
        : { ref, status: 'NotFound', message: 'not in the state' };
    });
    return summarizeHealth(objects);
  }

  /** The resources of the state (and the Module when there is a state): what a lost inventory is rebuilt from. */
  async listOwned(options: TargetCallOptions): Promise<readonly ObjectRef[]> {
    options.signal.throwIfAborted();
    return this.#exclusive(() => this.#listOwned(options));
  }

  async #listOwned({ signal }: TargetCallOptions): Promise<readonly ObjectRef[]> {
    signal.throwIfAborted();
    const state = await this.#stateIfInitialized(signal);
    if (!state || !hasState(state)) return [];
    const seen = new Set<string>();
    const refs: ObjectRef[] = [MODULE_REF];
    for (const r of state.values?.root_module?.resources ?? []) {
      if (r.mode !== 'managed' || seen.has(`${r.type}.${r.name}`)) continue;
      seen.add(`${r.type}.${r.name}`);
      refs.push({ apiVersion: TOFU_API_VERSION, kind: r.type, name: r.name });
    }
    return refs;
  }

  /** A refresh-only plan of the module last planned: what changed outside OpenTofu. Writes nothing. */
  async detectDrift(options: TargetCallOptions): Promise<readonly TofuDrift[]> {
    options.signal.throwIfAborted();
    return this.#exclusive(() => this.#detectDrift(options));
  }

  async #detectDrift({ signal }: TargetCallOptions): Promise<readonly TofuDrift[]> {
    signal.throwIfAborted();
    const json = await this.#refreshOnly(signal);
    return (json.resource_drift ?? []).map((d) => ({
      address: d.address,
      action: actionOf(d.change.actions),
      changes: fieldChanges(d.change),
    }));
  }

  /** `tofu plan -refresh-only` (without the lock: it writes nothing) as JSON: drift and fresh check results. */
  async #refreshOnly(signal: AbortSignal): Promise<TofuPlanJson> {
    const file = join(this.#plansDir, `refresh-${randomBytes(4).toString('hex')}.tfplan`);
    await mkdir(this.#plansDir, { recursive: true });
    try {
      await this.#tofuOk(
        ['plan', '-refresh-only', '-input=false', '-no-color', '-lock=false', `-out=${file}`],
        signal,
        'health',
      );
      return JSON.parse(
        (await this.#tofuOk(['show', '-json', '-no-color', file], signal, 'health')).stdout,
      ) as TofuPlanJson;
    } finally {
      await rm(file, { force: true });
    }
  }

  #planned(
    manifest: Manifest,
    json: TofuPlanJson,
    lastApplied: ReadonlyMap<string, string>,
    fresh: boolean,
  ): PlannedObject {
    const ref = refOf(manifest.object);
    const digest = digestObject(manifest.object);
    const base = { ref, manifest, digest };
    const sameAsApplied = lastApplied.get(refKey(ref)) === digest;
    if (isModule(ref)) {
      const outputs = Object.entries(json.output_changes ?? {}).filter(
        ([, c]) => actionOf(c.actions) !== 'no-op',
      );
      if (fresh)
        return {
          ...base,
          action: 'create',
          drifted: false,
          changes: outputs.flatMap(([name, c]) => prefixed(`/outputs/${name}`, c)),
        };
      if (outputs.length === 0) return { ...base, action: 'unchanged', drifted: false, changes: [] };
      return {
        ...base,
        action: 'update',
        drifted: sameAsApplied,
        changes: outputs.flatMap(([name, c]) => prefixed(`/outputs/${name}`, c)),
      };
    }
    const address = addressOf(ref);
    const changes = (json.resource_changes ?? []).filter(
      (c) => c.mode === 'managed' && baseAddress(c.address) === address,
    );
    const actions = changes.map((c) => actionOf(c.change.actions));
    const fields = changes.flatMap((c) =>
      c.address === address
        ? fieldChanges(c.change)
        : prefixed(`/${c.address.slice(address.length)}`, c.change),
    );
    if (actions.length > 0 && actions.every((a) => a === 'create'))
      return { ...base, action: 'create', drifted: sameAsApplied, changes: fields };
    if (actions.some((a) => a !== 'no-op'))
      return { ...base, action: 'update', drifted: sameAsApplied, changes: fields };
    return { ...base, action: 'unchanged', drifted: false, changes: [] };
  }

  /** One tofu operation at a time: they share the module folder and its `.terraform`. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #expectNoChanges(record: PlanRecord, signal: AbortSignal): Promise<void> {
    const run = await this.#tofu(
      [
        'plan',
        '-input=false',
        '-no-color',
        '-detailed-exitcode',
        '-lock=false',
        ...record.excludes.map((a) => `-exclude=${a}`),
      ],
      signal,
    );
    if (run.code === 0) return;
    throw new ApplyError(
      TofuErrorCodes.ApplyStalePlan,
      run.code === 2
        ? 'the plan was applied already and the state has changed since: plan again'
        : `tofu plan failed:\n${diagnostics(run)}`,
    );
  }

  async #writeAndInit(manifests: readonly Manifest[], signal: AbortSignal): Promise<void> {
    await this.#prepare();
    const files = moduleFiles(manifests, 's3');
    await writeModule(this.#moduleDir, files);
    // init again only when what it reads (the terraform blocks) changed; it is cheap but not free.
    const key = digestObject([...files].filter(([, text]) => text.includes('terraform')));
    if (this.#initialized === key) return;
    const run = await this.#tofu(
      ['init', '-input=false', '-no-color', '-reconfigure', ...this.#backendArgs()],
      signal,
    );
    if (run.code !== 0) throw planFailure(run, manifests);
    this.#initialized = key;
  }

  #backendArgs(): string[] {
    const b = this.#options.backend;
    const args = [
      `-backend-config=bucket=${b.bucket}`,
      `-backend-config=key=${b.key}`,
      `-backend-config=region=${b.region}`,
      '-backend-config=use_lockfile=true',
    ];
    if (b.endpoint) {
      args.push(
        `-backend-config=endpoints={s3="${b.endpoint}"}`,
        '-backend-config=use_path_style=true',
        '-backend-config=skip_credentials_validation=true',
        '-backend-config=skip_region_validation=true',
        '-backend-config=skip_requesting_account_id=true',
        '-backend-config=skip_metadata_api_check=true',
        '-backend-config=skip_s3_checksum=true',
      );
    }
    return args;
  }

  /** Writes the CLI configuration (providers from the mirror only) and tofu's home, once. */
  #prepare(): Promise<void> {
    this.#prepared ??= (async () => {
      await mkdir(this.#runner.home, { recursive: true });
      const mirror = this.#options.providerMirror;
      const config = mirror
        ? `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`
        : '';
      await writeFile(this.#runner.cliConfigFile, config);
    })();
    return this.#prepared;
  }

  async #state(signal: AbortSignal): Promise<TofuStateJson> {
    const run = await this.#tofuOk(['show', '-json', '-no-color'], signal, 'health');
    return JSON.parse(run.stdout || '{}') as TofuStateJson;
  }

  /** The state, or undefined when nothing was planned yet in this work folder (no module to read it through). */
  async #stateIfInitialized(signal: AbortSignal): Promise<TofuStateJson | undefined> {
    const present = await readFile(join(this.#moduleDir, '.terraform', 'terraform.tfstate')).then(
      () => true,
      () => false,
    );
    return present ? this.#state(signal) : undefined;
  }

  #tofu(args: readonly string[], signal: AbortSignal): Promise<TofuRun> {
    return runTofu(this.#runner, this.#moduleDir, args, signal);
  }

  async #tofuOk(
    args: readonly string[],
    signal: AbortSignal,
    stage: 'validation' | 'health',
  ): Promise<TofuRun> {
    const run = await this.#tofu(args, signal);
    if (run.code !== 0) {
      const code = stage === 'validation' ? TofuErrorCodes.ValidationFailed : TofuErrorCodes.StateUnreadable;
      throw new TofuError(stage, code, `tofu ${args[0]} failed:\n${diagnostics(run)}`, {
        output: diagnostics(run, 40),
      });
    }
    return run;
  }
}

/** `terraform_data.web[0]` → `terraform_data.web`. */
function baseAddress(address: string): string {
  return address.replace(/\[[^\]]*\]$/, '');
}

function stateAddresses(state: TofuStateJson): string[] {
  return (state.values?.root_module?.resources ?? [])
    .filter((r) => r.mode === 'managed')
    .map((r) => r.address);
}

function hasState(state: TofuStateJson): boolean {
  return state.values !== undefined;
}

function prefixed(prefix: string, change: TofuResourceChange['change']): ReturnType<typeof fieldChanges> {
  const fields = fieldChanges(change);
  return fields.length > 0
    ? fields.map((f) => ({ ...f, path: `${prefix}${f.path}` }))
    : diffValues(undefined, undefined);
}

/**
 * The Module's health: a failing check block fails it, an output named `healthOutput` that is
 * `false` fails it, unknown checks keep it in progress; the message lists the outputs (sensitive
 * ones masked), so status shows what the infrastructure reports about itself.
 */
function moduleHealth(
  ref: ObjectRef,
  state: TofuStateJson,
  checks: readonly TofuCheck[],
  healthOutput: string,
): ObjectHealth {
  const outputs = Object.entries(state.values?.outputs ?? {});
  const shown = outputs.map(([name, o]) => `${name}=${o.sensitive ? MASKED_VALUE : JSON.stringify(o.value)}`);
  const suffix = shown.length > 0 ? `; outputs: ${shown.join(', ')}` : '';
  const health = checkHealth(ref, checks);
  const flag = state.values?.outputs?.[healthOutput];
  if (health.status === 'Current' && flag && !flag.sensitive && flag.value === false) {
    return { ref, status: 'Failed', message: `output ${healthOutput} is false${suffix}` };
  }
  return { ...health, message: `${health.message}${suffix}` };
}

function checkHealth(ref: ObjectRef, checks: readonly TofuCheck[]): ObjectHealth {
  const failing = checks.filter((c) => c.status === 'fail' || c.status === 'error');
  if (failing.length > 0) {
    const problems = failing.flatMap((c) =>
      (c.instances ?? []).flatMap((i) =>
        (i.problems ?? []).map((p) => `${c.address.to_display}: ${p.message}`),
      ),
    );
    return { ref, status: 'Failed', message: problems.join('; ') || `${failing.length} check(s) failed` };
  }
  if (checks.some((c) => c.status === 'unknown'))
    return { ref, status: 'InProgress', message: 'checks not evaluated yet' };
  return { ref, status: 'Current', message: `${checks.length} check(s) pass` };
}

/** A failed init or plan as a ValidationError naming the file and line tofu points at. */
function planFailure(run: TofuRun, manifests: readonly Manifest[]): ValidationError {
  const text = diagnostics(run, 40);
  const at = /on ([^\s]+) line (\d+)/.exec(text);
  const file = at?.[1];
  const line = at?.[2] ? Number(at[2]) : undefined;
  const owner = manifests.find(
    (m) =>
      m.origin.file === file &&
      !isModule(m.object) &&
      (m.object.spec as { line: number }).line <= (line ?? 0),
  );
  return new ValidationError(TofuErrorCodes.ValidationFailed, [
    {
      message: text.split('\n').slice(0, 6).join(' ').replace(/\s+/g, ' '),
      location: {
        ...(file ? { file } : {}),
        ...(line ? { line } : {}),
        ...(owner ? { object: formatRef(refOf(owner.object)) } : {}),
      },
    },
  ]);
}
