/**
 * Fault injection for the crash-safety tests: a transport around the real one that lets the N-th
 * write reach the apiserver and then loses its answer, as a server killed right after writing (or a
 * dropped connection) does. From then on every request fails until the fault is healed, as when the
 * server is down; `kill` mode SIGKILLs the process instead, as a crash of the reconciling process.
 */

import { KubeApiError } from '../../src/errors.js';
import type { KubeRequest, Transport } from '../../src/kube-client.js';

/** Whether a request changes state (a write that is not a dry-run). */
export function isWrite(request: KubeRequest): boolean {
  return request.method !== 'GET' && !request.query?.dryRun;
}

/** When and how the fault strikes. */
export class FaultPlan {
  /** Writes that reached the server so far. */
  writes = 0;
  /** True once the fault struck and until {@link heal}. */
  down = false;

  /**
   * @param failAt the write (1-based) after which the fault strikes; 0 never.
   * @param mode `drop`: answers are lost and the server is down until healed; `kill`: the process dies.
   */
  constructor(
    readonly failAt: number,
    readonly mode: 'drop' | 'kill' = 'drop',
  ) {}

  /** The server is back. */
  heal(): void {
    this.down = false;
  }
}

/** `inner` with the fault of `plan`. */
export function faultyTransport(inner: Transport, plan: FaultPlan): Transport {
  return async (request) => {
    if (plan.down) {
      throw new KubeApiError(
        0,
        'ConnectionFailed',
        `${request.method} ${request.path}: connect ECONNREFUSED`,
      );
    }
    const response = await inner(request);
    if (isWrite(request) && ++plan.writes === plan.failAt) {
      if (plan.mode === 'kill') process.kill(process.pid, 'SIGKILL');
      plan.down = true;
      throw new KubeApiError(0, 'ConnectionFailed', `${request.method} ${request.path}: socket hang up`);
    }
    return response;
  };
}

/** A small seeded generator (mulberry32), so a failing run can be repeated exactly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
