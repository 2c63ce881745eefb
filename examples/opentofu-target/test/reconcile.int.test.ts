import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Reconciler, ValidationError } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { GitSource } from '@gitops-kit/git-source';
import { testenv } from '@gitops-kit/testenv';
import { afterAll, describe, expect, it } from 'vitest';
import { MODULE_KIND, MODULE_NAME, TOFU_API_VERSION, TofuRenderer } from '../src/index.js';
import { GitWork } from './support/git-work.js';
import {
  addressesIn,
  folder,
  moduleCode,
  readState,
  removeFolders,
  render,
  stateBucket,
  tofuTarget,
} from './support/tofu-env.js';

afterAll(removeFolders);

/** The `input` a terraform_data resource holds in the stored state. */
function inputOf(state: Record<string, unknown> | undefined, name: string): unknown {
  const resources = (state?.resources ?? []) as {
    type: string;
    name: string;
    instances: { attributes: { input?: { value?: unknown } } }[];
  }[];
  return resources.find((r) => r.type === 'terraform_data' && r.name === name)?.instances[0]?.attributes.input
    ?.value;
}

describe('GitOps for infrastructure: a Git repository of OpenTofu code reconciled into an S3-backed state', () => {
  it('applies, reverts a drift, rolls back a change whose check fails, and prunes a removed resource', async () => {
    const git = await testenv.git();
    const { url } = await git.createRepo(`tofu-infra-${process.pid}`);
    const work = await GitWork.create(url, git.username, git.password);
    const first = await work.commit(moduleCode(), 'infra: web, db and a creation time');

    const state = await stateBucket();
    const key = 'infra/prod.tfstate';
    const target = await tofuTarget(state, key);
    const reconciler = new Reconciler({
      name: 'infra',
      source: new GitSource({ url, cacheDir: await folder('git-cache'), auth: { bearerToken: git.token } }),
      renderer: new TofuRenderer(),
      target,
      prune: true,
      rollback: true,
      healthTimeout: 30_000,
      healthPollInterval: 200,
    });
    const drifted: string[] = [];
    reconciler.on('drifted', (e) => drifted.push(...e.objects.map((o) => `${o.kind}.${o.name}`)));

    const applied = await reconciler.reconcile();
    expect(applied.outcome).toBe('succeeded');
    expect(reconciler.status.lastAppliedRevision).toBe(`main@sha1:${first}`);
    expect(addressesIn(await readState(state, key)).sort()).toEqual([
      'terraform_data.db',
      'terraform_data.web',
      'time_static.created',
    ]);
    const moduleRef = { apiVersion: TOFU_API_VERSION, kind: MODULE_KIND, name: MODULE_NAME };
    const health = await target.health([moduleRef], { signal: AbortSignal.timeout(60_000) });
    expect(health.objects[0]).toMatchObject({
      status: 'Current',
      message: '1 check(s) pass; outputs: db_size="small"',
    });

    // Drift: someone applies a local edit from their laptop, against the same state.
    const laptop = await tofuTarget(state, key);
    const signal = AbortSignal.timeout(60_000);
    const handmade = await laptop.plan(
      await render(moduleCode({ color: 'red' })),
      { entries: [] },
      { signal },
    );
    await laptop.apply(handmade, { signal });
    expect(inputOf(await readState(state, key), 'web')).toEqual({ color: 'red' });
    const reverted = await reconciler.reconcile();
    expect(reverted.outcome).toBe('succeeded');
    expect(drifted).toEqual(['terraform_data.web']);
    expect(inputOf(await readState(state, key), 'web')).toEqual({ color: 'blue' });

    // A bad change: it applies, but its check block fails; the last healthy revision comes back.
    const bad = await work.commit(moduleCode({ size: 'huge' }), 'db: go huge');
    const rolledBack = await reconciler.reconcile();
    expect(rolledBack.outcome).toBe('rolledBack');
    expect(rolledBack.revision).toBe(`main@sha1:${bad}`);
    expect(rolledBack.message).toContain('the db size huge is not supported');
    expect(inputOf(await readState(state, key), 'db')).toEqual({ size: 'small' });
    expect(reconciler.status.lastAppliedRevision).toBe(`main@sha1:${first}`);

    // Prune: a resource removed from the code is destroyed, and only that one.
    const code = moduleCode();
    const main = (code['main.tf'] ?? '').replace(/resource "time_static"[\s\S]*?\n}\n/, '');
    const trimmed = await work.commit(
      { 'main.tf': main, 'checks.tf': code['checks.tf'] ?? '' },
      'drop the creation time',
    );
    const pruned = await reconciler.reconcile();
    expect(pruned.outcome).toBe('succeeded');
    expect(reconciler.status.lastAppliedRevision).toBe(`main@sha1:${trimmed}`);
    expect(addressesIn(await readState(state, key)).sort()).toEqual([
      'terraform_data.db',
      'terraform_data.web',
    ]);
    expect(reconciler.status.inventory.entries.map(({ ref }) => `${ref.kind}.${ref.name}`).sort()).toEqual([
      'Module.root',
      'terraform_data.db',
      'terraform_data.web',
    ]);
  });

  it('finds drift made outside OpenTofu with a refresh-only plan, and the next pass reverts it', async () => {
    // A time_rotating resource whose rotation time passes is gone at the next refresh: a change
    // of the real world that no one made through the code. The first pass and refresh must end
    // before that time: 4 s was too short on a loaded machine (drift seen at the first refresh).
    const rotateAt = new Date(Date.now() + 12_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const source = new MemorySource({
      files: {
        'main.tf': `terraform {\n  required_providers {\n    time = { source = "hashicorp/time", version = "0.14.2" }\n  }\n}\n\nresource "time_rotating" "key" {\n  rotation_rfc3339 = "${rotateAt}"\n}\n`,
      },
    });
    const state = await stateBucket();
    const target = await tofuTarget(state, 'rotating.tfstate');
    const reconciler = new Reconciler({ name: 'keys', source, renderer: new TofuRenderer(), target });
    const drifted: string[] = [];
    reconciler.on('drifted', (e) => drifted.push(...e.objects.map((o) => `${o.kind}.${o.name}`)));
    try {
      expect((await reconciler.reconcile()).outcome).toBe('succeeded');
      const signal = AbortSignal.timeout(60_000);
      expect(await target.detectDrift({ signal })).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, Date.parse(rotateAt) - Date.now() + 1_500));
      const before = await readState(state, 'rotating.tfstate');
      const drift = await target.detectDrift({ signal });
      expect(drift.map((d) => [d.address, d.action])).toEqual([['time_rotating.key', 'delete']]);
      // The refresh-only plan wrote nothing.
      expect(await readState(state, 'rotating.tfstate')).toEqual(before);
      expect((await reconciler.reconcile()).outcome).toBe('succeeded');
      expect(drifted).toEqual(['time_rotating.key']);
      expect(addressesIn(await readState(state, 'rotating.tfstate'))).toEqual(['time_rotating.key']);
    } finally {
      await source.cleanup();
    }
  });

  it('keeps its state locked in S3: while someone else holds the lock, plan is refused and nothing is written', async () => {
    const state = await stateBucket();
    const key = 'locked.tfstate';
    const target = await tofuTarget(state, key);
    const lock = {
      ID: '00000000-0000-0000-0000-000000000001',
      Operation: 'OperationTypeApply',
      Info: '',
      Who: 'someone@laptop',
      Version: '1.12.6',
      Created: new Date().toISOString(),
      Path: `${state.bucket}/${key}`,
    };
    await state.client.send(
      new PutObjectCommand({ Bucket: state.bucket, Key: `${key}.tflock`, Body: JSON.stringify(lock) }),
    );
    const signal = AbortSignal.timeout(60_000);
    const error = await target
      .plan(await render(moduleCode()), { entries: [] }, { signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/acquiring the state lock/i);
    expect((error as Error).message).not.toContain(state.s3.secretAccessKey);
    expect(await readState(state, key)).toBeUndefined();
  });

  it('reads health from outputs too: an output `healthy` that is false fails the Module', async () => {
    const state = await stateBucket();
    const target = await tofuTarget(state, 'flag.tfstate');
    const signal = AbortSignal.timeout(60_000);
    const code =
      'resource "terraform_data" "probe" {\n  input = "down"\n}\n\noutput "healthy" {\n  value = terraform_data.probe.output == "up"\n}\n';
    const plan = await target.plan(await render({ 'main.tf': code }), { entries: [] }, { signal });
    await target.apply(plan, { signal });
    const report = await target.health(
      plan.objects.map((o) => o.ref),
      { signal },
    );
    expect(report.status).toBe('Failed');
    expect(report.objects.map((o) => [o.ref.kind, o.status, o.message])).toEqual([
      [MODULE_KIND, 'Failed', 'output healthy is false; outputs: healthy=false'],
      ['terraform_data', 'Current', 'in the state'],
    ]);
  });
});
