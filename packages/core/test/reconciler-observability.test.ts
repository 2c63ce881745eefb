import { type LogFields, type Logger, Manager, type ReconcilerEvents } from '@gitops-kit/core';
import { whileTimePasses } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { configMap, deployment, deployRef, rig } from './support/reconciler-fixtures.js';

const waitOptions = { wait: true, healthPollInterval: 1_000, healthTimeout: 10_000 } as const;

/** A logger that keeps its records. */
function memoryLogger(): Logger & { records: [string, LogFields, string][] } {
  const records: [string, LogFields, string][] = [];
  const at =
    (level: string) =>
    (fields: LogFields, message: string): void => {
      records.push([level, fields, message]);
    };
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('Reconciler: timing events', () => {
  it('emits passStarted, a stage event per stage with its duration, and passFinished with the result', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, waitOptions);
    const stages: ReconcilerEvents['stage'][] = [];
    const finished: ReconcilerEvents['passFinished'][] = [];
    let started = 0;
    r.reconciler.on('passStarted', () => {
      started++;
    });
    r.reconciler.on('stage', (e) => {
      stages.push(e);
    });
    r.reconciler.on('passFinished', (e) => {
      finished.push(e);
    });
    r.cluster.setHealth('Deployment', (_o, reading) => (reading < 3 ? 'InProgress' : 'Current'));

    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());

    expect(started).toBe(1);
    expect(stages.map((s) => s.stage)).toEqual(['fetch', 'render', 'plan', 'validate', 'apply', 'health']);
    const health = stages.find((s) => s.stage === 'health');
    expect(health?.durationMs).toBe(2_000); // three readings, a second apart on the manual clock
    expect(stages.every((s) => s.revision === result.revision)).toBe(true);
    expect(finished).toHaveLength(1);
    expect(finished[0]?.result).toBe(result);
  });

  it('a failing stage carries its typed error', async () => {
    const r = rig({ 'bad.yaml': 'kind: [' });
    const stages: ReconcilerEvents['stage'][] = [];
    r.reconciler.on('stage', (e) => {
      stages.push(e);
    });
    await r.reconciler.reconcile();
    expect(stages.map((s) => [s.stage, s.error?.stage])).toEqual([
      ['fetch', undefined],
      ['render', 'render'],
    ]);
  });
});

describe('Reconciler: timing events of a set with waves', () => {
  it('times the validation once and the apply and health gate of each wave', async () => {
    const wave = (name: string, n: number): string =>
      configMap(name).replace(
        'metadata:\n',
        `metadata:\n  annotations:\n    argocd.argoproj.io/sync-wave: "${n}"\n`,
      );
    const r = rig({ 'a.yaml': wave('a', 0), 'b.yaml': wave('b', 1) }, waitOptions);
    const stages: string[] = [];
    r.reconciler.on('stage', (e) => {
      stages.push(e.stage);
    });
    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());
    expect(result.outcome).toBe('succeeded');
    expect(stages.filter((s) => s === 'validate')).toHaveLength(1);
    expect(stages.filter((s) => s === 'apply')).toHaveLength(2);
    expect(stages.filter((s) => s === 'health').length).toBeGreaterThanOrEqual(2);
    expect(stages.slice(0, 3)).toEqual(['fetch', 'render', 'plan']);
  });
});

describe('Reconciler: history causes', () => {
  it('a failed pass records the error code, stage, message and file and line', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') });
    await r.reconciler.reconcile();
    r.source.setFile('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [\n').commit();

    await r.reconciler.reconcile();

    const entry = r.reconciler.status.history[0];
    expect(entry?.outcome).toBe('failed');
    expect(entry?.cause?.code).toMatch(/^RENDER_/);
    expect(entry?.cause?.stage).toBe('render');
    expect(entry?.cause?.message).toContain('bad.yaml');
    expect(entry?.cause?.location?.file).toBe('bad.yaml');
    expect(entry?.cause?.location?.line).toBeGreaterThan(0);
    expect(r.store.get('app')?.history?.[0]?.cause?.code).toBe(entry?.cause?.code);
  });

  it('a drift correction is an entry of its own naming what drifted', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1'), 'cm.yaml': configMap('cm') });
    await r.reconciler.reconcile();
    r.cluster.edit(deployRef('web'), (o) => {
      (o.spec as { replicas: number }).replicas = 4;
      return o;
    });

    await r.reconciler.reconcile();

    const [newest, second] = r.reconciler.status.history;
    expect(newest).toMatchObject({ kind: 'drift', outcome: 'succeeded', drifted: [deployRef('web')] });
    expect(newest?.reason).toContain('apps/v1 Deployment default/web');
    expect(second?.kind).toBeUndefined();
    expect(second?.outcome).toBe('succeeded');
  });

  it('a rolled-back entry names the failing objects and their reasons', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, { ...waitOptions, rollback: true });
    await whileTimePasses(r.clock, r.reconciler.reconcile());
    r.cluster.setHealth((o) => JSON.stringify(o).includes('app:2'), {
      status: 'Failed',
      message: 'CrashLoopBackOff',
    });
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit();

    await whileTimePasses(r.clock, r.reconciler.reconcile());

    const entry = r.reconciler.status.history[0];
    expect(entry?.outcome).toBe('rolledBack');
    expect(entry?.cause).toMatchObject({
      code: 'HEALTH_FAILED',
      stage: 'health',
      objects: [{ ref: deployRef('web'), status: 'Failed', message: 'CrashLoopBackOff' }],
    });
  });
});

describe('Reconciler: causes of rolled-back outcomes that are not health failures', () => {
  it('a held revision and a rollbackTo say what holds them', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, { ...waitOptions, rollback: true });
    await whileTimePasses(r.clock, r.reconciler.reconcile());
    const first = r.source.head?.revision ?? '';
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit();
    await whileTimePasses(r.clock, r.reconciler.reconcile());

    await whileTimePasses(r.clock, r.reconciler.rollbackTo(first));

    const entry = r.reconciler.status.history[0];
    expect(entry?.outcome).toBe('rolledBack');
    expect(entry?.cause).toMatchObject({ code: 'ROLLBACK_REQUESTED', stage: 'reconcile' });
    expect(entry?.cause?.message).toContain('rollbackTo');
  });
});

describe('Reconciler: logger option', () => {
  it('is silent without a logger and writes structured records with one', async () => {
    const logger = memoryLogger();
    const r = rig({ 'cm.yaml': configMap('cm') }, { logger });
    await r.reconciler.reconcile();

    const applied = logger.records.find(
      ([level, , m]) => level === 'info' && m.startsWith('Applied revision'),
    );
    expect(applied?.[1]).toMatchObject({
      reconciler: 'app',
      revision: r.source.head?.revision,
      stage: 'apply',
    });
    const done = logger.records.find(([, f]) => f.outcome === 'succeeded');
    expect(typeof done?.[1].durationMs).toBe('number');
    const stage = logger.records.find(([level, f]) => level === 'debug' && f.stage === 'render');
    expect(typeof stage?.[1].durationMs).toBe('number');

    r.source.setFile('bad.yaml', 'kind: [').commit();
    await r.reconciler.reconcile();
    const failed = logger.records.find(([level]) => level === 'error');
    expect(failed?.[1]).toMatchObject({ reconciler: 'app', stage: 'render', outcome: 'failed' });
    expect(String(failed?.[1].code)).toMatch(/^RENDER_/);
  });

  it('accepts console, whose methods take (fields, message)', async () => {
    const r = rig(
      { 'cm.yaml': configMap('cm') },
      { logger: { ...console, info: () => {}, debug: () => {} } },
    );
    expect((await r.reconciler.reconcile()).outcome).toBe('succeeded');
  });
});

describe('Manager: membership', () => {
  it('tells listeners of reconcilers added and removed', async () => {
    const manager = new Manager();
    const changes: string[] = [];
    manager.onMembership(({ type, reconciler }) => changes.push(`${type} ${reconciler.name}`));
    const r = rig({ 'cm.yaml': configMap('cm') });
    manager.add(r.reconciler);
    await manager.remove('app');
    expect(changes).toEqual(['added app', 'removed app']);
  });
});
