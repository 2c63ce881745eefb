import { ClockNotAdvancedError, ErrorCodes, sleep } from '@gitops-kit/core';
import { ManualClock, MemorySource, whileTimePasses } from '@gitops-kit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { deployment, rig } from './support/reconciler-fixtures.js';

const sources: MemorySource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.cleanup()));
});

describe('testing kit, issue 11 item 15: whileTimePasses is exported and drives the waits of a pass', () => {
  it('lets minutes of health polling pass in real milliseconds and never fires the pass timeout early', async () => {
    const r = rig(
      { 'web.yaml': deployment('web', 'app:1') },
      { wait: true, healthPollInterval: 2_000, healthTimeout: 4 * 60_000, timeout: 5 * 60_000 },
    );
    r.cluster.setHealth('Deployment', (_object, reading) => (reading < 90 ? 'InProgress' : 'Current'));
    const startedAt = r.clock.now();
    const realStart = performance.now();

    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());

    expect(result.outcome).toBe('succeeded');
    expect(result.health).toBe('Current');
    // 89 polls of 2 s each: three minutes of manual time, driven without a hand-written loop.
    expect(r.clock.now() - startedAt).toBe(89 * 2_000);
    expect(performance.now() - realStart).toBeLessThan(5_000);
  });

  it('passes a rejection of the work through', async () => {
    const clock = new ManualClock();
    const failing = (async () => {
      await sleep(clock, 1_000);
      throw new Error('after a second');
    })();
    await expect(whileTimePasses(clock, failing)).rejects.toThrow('after a second');
    expect(clock.now()).toBe(Date.parse('2026-01-01T00:00:01Z'));
  });
});

describe('testing kit, issue 11 item 15: a wait on an undriven ManualClock fails fast with a hint', () => {
  it('a pass waiting for health on a clock nobody advances fails with ClockNotAdvanced instead of hanging', async () => {
    const clock = new ManualClock({ undrivenTimeout: 100 });
    const r = rig(
      { 'web.yaml': deployment('web', 'app:1') },
      { wait: true, healthPollInterval: 1_000, healthTimeout: 10_000 },
      { clock },
    );
    r.cluster.setHealth('Deployment', 'InProgress');
    const realStart = performance.now();

    // Before: this await never settled (the health poll sleeps on the manual clock forever).
    const result = await r.reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error).toBeInstanceOf(ClockNotAdvancedError);
    expect(result.error?.code).toBe(ErrorCodes.ClockNotAdvanced);
    expect(result.reason).toBe('ClockNotAdvanced');
    expect(result.error?.message).toContain('clock.advance');
    expect(result.error?.message).toContain('whileTimePasses');
    expect(performance.now() - realStart).toBeLessThan(3_000);
  });

  it('waits that someone drives, plain timers and disabled watchdogs never fail', async () => {
    const clock = new ManualClock({ undrivenTimeout: 300 });
    let fired = false;
    clock.setTimer(2_000, () => {
      fired = true;
    });
    // Driven every 50 ms of real time for 500 ms in all: longer than the grace, never idle that long.
    const waited = sleep(clock, 1_000);
    for (let i = 0; i < 9; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await clock.advance(100);
    }
    await clock.advance(100);
    await expect(waited).resolves.toBeUndefined();
    // A plain timer is nobody's wait: undriven past the grace, it just stays pending.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.pendingWaits).toBe(0);

    const patient = new ManualClock({ undrivenTimeout: false });
    let settled = false;
    void sleep(patient, 10).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(settled).toBe(false);
    await patient.advance(10);
    expect(settled).toBe(true);
  });

  it('an aborted wait rejects with the reason and is no longer pending', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const waiting = sleep(clock, 1_000, controller.signal);
    expect(clock.pendingWaits).toBe(1);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(clock.pendingTimers).toBe(0);
    expect(new ManualClock(Date.parse('2030-01-01T00:00:00Z')).now()).toBe(
      Date.parse('2030-01-01T00:00:00Z'),
    );
  });
});

describe('testing kit, issue 11 item 15: MemorySource.matches normalises URLs as GitSource does', () => {
  it('ignores .git, a trailing slash, host case, credentials and the scheme, and reads scp-style addresses', () => {
    const repo = new MemorySource({ url: 'https://github.com/org/repo', branch: 'main' });
    sources.push(repo);
    for (const url of [
      'https://github.com/org/repo',
      'https://github.com/org/repo.git',
      'https://github.com/org/repo/',
      'https://GitHub.com/org/repo.git/',
      'https://bot:token@github.com/org/repo',
      'http://github.com/org/repo',
      'git@github.com:org/repo.git',
      'github.com:org/repo',
      'ssh://git@github.com/org/repo.git',
      'ssh://git@github.com:22/org/repo',
    ]) {
      expect(repo.matches({ url, ref: 'refs/heads/main' }), url).toBe(true);
    }
    for (const url of [
      'https://github.com/org/other',
      'https://github.com/org/repo/sub',
      'https://gitlab.com/org/repo',
      'git@github.com:org/repo2.git',
      'https://github.com:8443/org/repo',
    ]) {
      expect(repo.matches({ url }), url).toBe(false);
    }
    expect(repo.matches({ url: 'git@github.com:org/repo.git', ref: 'dev' })).toBe(false);
    const scp = new MemorySource({ url: 'git@github.com:org/repo.git' });
    sources.push(scp);
    expect(scp.matches({ url: 'https://github.com/org/repo' })).toBe(true);
  });
});
