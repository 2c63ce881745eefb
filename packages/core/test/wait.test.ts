import { poll } from '@gitops-kit/core';
import { ManualClock } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';

/** A manual clock and a check that records when (ms since the start) it was called. */
function recorded(result: (calls: number) => string | undefined = () => undefined) {
  const clock = new ManualClock();
  const start = clock.now();
  const seen: number[] = [];
  const check = (): string | undefined => {
    seen.push(clock.now() - start);
    return result(seen.length);
  };
  return { clock, seen, check };
}

describe('poll', () => {
  it('checks at once, then every interval on the clock, until a value comes', async () => {
    const { clock, seen, check } = recorded((calls) => (calls === 3 ? 'ready' : undefined));
    const done = poll(check, { clock, intervalMs: 100 });
    await clock.advance(250);
    await expect(done).resolves.toBe('ready');
    expect(seen).toEqual([0, 100, 200]);
  });

  it('resolves undefined at the deadline, with a last check cut to it', async () => {
    const { clock, seen, check } = recorded();
    const done = poll(check, { clock, intervalMs: 100, timeoutMs: 250 });
    await clock.advance(1_000);
    await expect(done).resolves.toBeUndefined();
    expect(seen).toEqual([0, 100, 200, 250]);
  });

  it('waits first when asked, asks an interval function before each wait, and rejects on abort', async () => {
    const { clock, seen, check } = recorded();
    const controller = new AbortController();
    let intervals = 0;
    const done = poll(check, {
      clock,
      intervalMs: () => {
        intervals++;
        return 50;
      },
      signal: controller.signal,
      waitFirst: true,
    });
    await clock.advance(120);
    controller.abort(new Error('stop'));
    await expect(done).rejects.toThrow('stop');
    expect(seen).toEqual([50, 100]);
    expect(intervals).toBe(3);
  });
});
