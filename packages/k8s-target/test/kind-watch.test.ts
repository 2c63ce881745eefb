import type { KubeObject } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { KindWatch, type WatchCounters } from '../src/kind-watch.js';
import { KubeClient, type KubeRequest } from '../src/kube-client.js';
import type { WatchEvent, WatchStream } from '../src/watch-stream.js';

const info = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespaced: true };
const object = (name: string, rv: string): KubeObject =>
  ({ metadata: { name, namespace: 'shop', resourceVersion: rv } }) as unknown as KubeObject;

describe('KindWatch', () => {
  it('lists, watches from the list’s resourceVersion with bookmarks, resumes after each event, relists on 410 Gone', async () => {
    const lists: KubeRequest[] = [];
    let listVersion = 10;
    const client = new KubeClient(async (request) => {
      lists.push(request);
      const text = JSON.stringify({
        metadata: { resourceVersion: String(listVersion) },
        items: [object('web', '9')],
      });
      listVersion = 50;
      return { statusCode: 200, text };
    });
    const context = createContext({ name: 'shop', client, pollIntervalMs: 1 });
    const watches: Record<string, string>[] = [];
    const controller = new AbortController();
    // Attempt 1: two events and a bookmark, then the server ends the stream. Attempt 2: 410 Gone.
    // Attempt 3 (after a relist): the stream cannot be opened. Attempt 4: the test ends it.
    const script: ((emit: (e: WatchEvent) => void) => void)[] = [
      (emit) => {
        emit({ type: 'ADDED', object: object('api', '11') });
        emit({ type: 'MODIFIED', object: object('web', '12') });
        emit({ type: 'BOOKMARK', object: object('', '20') });
      },
      (emit) => emit({ type: 'ERROR', object: { code: 410 } as unknown as KubeObject }),
      () => {
        throw Object.assign(new Error('connection refused'), { statusCode: 503 });
      },
      () => controller.abort(),
    ];
    const stream: WatchStream = async (path, query, onEvent) => {
      expect(path).toBe('/apis/apps/v1/deployments');
      watches.push({ ...query });
      script[watches.length - 1]?.(onEvent);
    };
    const seen: string[] = [];
    const listed: string[] = [];
    const counters: WatchCounters = { watches: 0, lists: 0, relists: 0 };
    const watch = new KindWatch(
      context,
      info,
      stream,
      {
        event: (type, o) => seen.push(`${type} ${o.apiVersion} ${o.kind} ${o.metadata.name}`),
        listed: (items, initial) => listed.push(`${items.map((i) => i.metadata.name).join(',')} ${initial}`),
      },
      counters,
    );
    await watch.run(controller.signal);

    expect(lists.map((l) => l.query?.labelSelector)).toEqual([
      'gitops-kit.dev/owner=shop',
      'gitops-kit.dev/owner=shop',
    ]);
    expect(watches.map((w) => w.resourceVersion)).toEqual(['10', '20', '50', '50']);
    expect(watches[0]).toMatchObject({
      allowWatchBookmarks: 'true',
      labelSelector: 'gitops-kit.dev/owner=shop',
    });
    expect(seen).toEqual(['ADDED apps/v1 Deployment api', 'MODIFIED apps/v1 Deployment web']);
    expect(listed).toEqual(['web true', 'web false']);
    expect(counters).toEqual({ watches: 4, lists: 2, relists: 1 });
  });

  it('backs off after an ERROR event or an empty stream instead of reopening at once, and relists when the version is too new', async () => {
    const client = new KubeClient(async () => ({
      statusCode: 200,
      text: JSON.stringify({ metadata: { resourceVersion: '10' }, items: [] }),
    }));
    const context = createContext({ name: 'shop', client });
    const at: number[] = [];
    const started = Date.now();
    const stream: WatchStream = async (_path, _query, onEvent) => {
      at.push(Date.now() - started);
      if (at.length === 1) {
        // After an etcd restore: the version the watch resumes from is newer than the server's.
        onEvent({
          type: 'ERROR',
          object: {
            kind: 'Status',
            code: 504,
            message: 'Too large resource version',
            details: { causes: [{ reason: 'ResourceVersionTooLarge' }] },
          } as unknown as KubeObject,
        });
      } else if (at.length === 2) {
        onEvent({
          type: 'ERROR',
          object: { kind: 'Status', code: 500, message: 'boom' } as unknown as KubeObject,
        });
      }
      // Later attempts: the stream ends at once with nothing in it.
    };
    const counters: WatchCounters = { watches: 0, lists: 0, relists: 0 };
    const watch = new KindWatch(context, info, stream, { event: () => {}, listed: () => {} }, counters);
    await watch.run(AbortSignal.timeout(1_000));
    // 250 ms, then 500 ms between attempts: four at most in a second, not thousands.
    expect(at.length).toBeGreaterThanOrEqual(2);
    expect(at.length).toBeLessThanOrEqual(4);
    expect(at[1]).toBeGreaterThanOrEqual(200);
    expect(counters.relists).toBe(1);
    expect(counters.lists).toBe(2);
  });

  it('opens a quiet stream again at once when it stayed open a while (the server ended it), with no backoff', async () => {
    const client = new KubeClient(async () => ({
      statusCode: 200,
      text: JSON.stringify({ metadata: { resourceVersion: '10' }, items: [] }),
    }));
    let now = 1_000_000;
    const sleeps: number[] = [];
    const clock = {
      now: () => now,
      setTimer: () => () => {},
      sleep: async (ms: number, signal?: AbortSignal) => {
        signal?.throwIfAborted();
        sleeps.push(ms);
        now += ms;
      },
    };
    const context = createContext({ name: 'shop', client, clock });
    const controller = new AbortController();
    let attempts = 0;
    const stream: WatchStream = async () => {
      attempts++;
      if (attempts === 1) now += 300_000; // open for the server's whole timeout, no event in it
      if (attempts === 3) controller.abort();
    };
    const counters: WatchCounters = { watches: 0, lists: 0, relists: 0 };
    await new KindWatch(context, info, stream, { event: () => {}, listed: () => {} }, counters).run(
      controller.signal,
    );
    // After the long quiet stream: no wait. After the second, which ended at once: the first backoff.
    expect(attempts).toBe(3);
    expect(sleeps).toEqual([250]);
  });
});
