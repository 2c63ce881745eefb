import { ManualClock } from '@gitops-kit/core/testing';
import {
  type ApiRequestRecord,
  KubeApiError,
  KubeClient,
  KubeEventRecorder,
  type KubeRequest,
  verbOf,
} from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';

const state = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ops', name: 'gitops-kit-web' };

/** A client over a scripted transport that records requests; `answer` decides each answer. */
function scripted(
  answer: (request: KubeRequest) => { statusCode: number; text: string } | Error = () => ({
    statusCode: 201,
    text: '{}',
  }),
): { client: KubeClient; seen: KubeRequest[] } {
  const seen: KubeRequest[] = [];
  const client = new KubeClient(async (request) => {
    seen.push(request);
    const a = answer(request);
    if (a instanceof Error) throw a;
    return a;
  });
  return { client, seen };
}

const applied = {
  regarding: state,
  type: 'Normal',
  reason: 'Applied',
  action: 'Apply',
  note: 'Applied revision r1',
} as const;

describe('verbOf', () => {
  it('names the Kubernetes verb of a request', () => {
    expect(verbOf({ method: 'GET', path: '/api/v1/namespaces/ops/configmaps/x' })).toBe('get');
    expect(verbOf({ method: 'GET', path: '/api/v1/namespaces/ops/configmaps' })).toBe('list');
    expect(verbOf({ method: 'GET', path: '/api/v1/namespaces/ops' })).toBe('get');
    expect(verbOf({ method: 'GET', path: '/api/v1/namespaces' })).toBe('list');
    expect(verbOf({ method: 'GET', path: '/apis/apps/v1/deployments' })).toBe('list');
    expect(verbOf({ method: 'GET', path: '/apis/apps/v1/namespaces/a/deployments/web/status' })).toBe('get');
    expect(verbOf({ method: 'GET', path: '/apis/apps/v1/deployments', query: { watch: 'true' } })).toBe(
      'watch',
    );
    expect(verbOf({ method: 'GET', path: '/apis' })).toBe('get');
    expect(verbOf({ method: 'PATCH', path: '/x', contentType: 'application/apply-patch+yaml' })).toBe(
      'apply',
    );
    expect(verbOf({ method: 'PATCH', path: '/x', contentType: 'application/merge-patch+json' })).toBe(
      'patch',
    );
    expect(verbOf({ method: 'POST', path: '/x' })).toBe('create');
    expect(verbOf({ method: 'PUT', path: '/x' })).toBe('update');
    expect(verbOf({ method: 'DELETE', path: '/x' })).toBe('delete');
  });
});

describe('KubeClient.onResponse', () => {
  it('reports verb and status code of every request, 0 when no answer came', async () => {
    const { client } = scripted((r) =>
      r.method === 'DELETE'
        ? new Error('socket hang up')
        : { statusCode: r.method === 'GET' ? 404 : 200, text: '{}' },
    );
    const records: ApiRequestRecord[] = [];
    const stop = client.onResponse((r) => records.push(r));
    await client.request({ method: 'GET', path: '/api/v1/namespaces/a/configmaps/x' }).catch(() => undefined);
    await client.request({
      method: 'PATCH',
      path: '/x',
      contentType: 'application/apply-patch+yaml',
      query: { dryRun: 'All' },
    });
    await client.request({ method: 'DELETE', path: '/x' }).catch(() => undefined);
    stop();
    await client.request({ method: 'POST', path: '/x' });
    expect(records.map((r) => [r.verb, r.code, r.dryRun])).toEqual([
      ['get', 404, false],
      ['apply', 200, true],
      ['delete', 0, false],
    ]);
  });
});

describe('KubeEventRecorder', () => {
  it('writes an events.k8s.io/v1 Event regarding the object, with its uid and a MicroTime', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T10:00:00.123Z'));
    const { client, seen } = scripted((r) =>
      r.method === 'GET'
        ? { statusCode: 200, text: JSON.stringify({ metadata: { uid: 'u-1' } }) }
        : { statusCode: 201, text: '{}' },
    );
    const recorder = new KubeEventRecorder(client, clock, 'gitops-kit', { reportingInstance: 'test' });

    expect(await recorder.record(applied)).toBe('created');

    const post = seen.find((r) => r.method === 'POST');
    expect(post?.path).toBe('/apis/events.k8s.io/v1/namespaces/ops/events');
    expect(post?.body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'ops' },
      eventTime: '2026-12-01T10:00:00.123000Z',
      reportingController: 'gitops-kit.dev/reconciler',
      reportingInstance: 'test',
      type: 'Normal',
      reason: 'Applied',
      action: 'Apply',
      note: 'Applied revision r1',
      regarding: { ...state, uid: 'u-1' },
    });
    const get = seen.find((r) => r.method === 'GET');
    expect(get?.accept).toContain('PartialObjectMetadata');
  });

  it('counts a repeat in the series of the first event instead of writing a new one', async () => {
    const clock = new ManualClock();
    const { client, seen } = scripted();
    const recorder = new KubeEventRecorder(client, clock, 'gitops-kit');
    await recorder.record(applied);
    await clock.advance(1_000);
    expect(await recorder.record(applied)).toBe('series');
    await clock.advance(1_000);
    expect(await recorder.record(applied)).toBe('series');
    const patches = seen.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(2);
    expect(patches[1]?.body).toMatchObject({ series: { count: 3 } });
    expect(patches[1]?.path).toMatch(
      /^\/apis\/events\.k8s\.io\/v1\/namespaces\/ops\/events\/gitops-kit-web\./,
    );
    // Another note is another event.
    expect(await recorder.record({ ...applied, note: 'Applied revision r2' })).toBe('created');
    expect(recorder.counters).toMatchObject({ created: 2, series: 2 });
  });

  it('makes a new event when the first one expired (404 on the series update)', async () => {
    const clock = new ManualClock();
    const { client } = scripted((r) =>
      r.method === 'PATCH'
        ? { statusCode: 404, text: '{"kind":"Status","reason":"NotFound"}' }
        : { statusCode: 201, text: '{}' },
    );
    const recorder = new KubeEventRecorder(client, clock, 'gitops-kit');
    await recorder.record(applied);
    expect(await recorder.record(applied)).toBe('created');
  });

  it('rate-limits per object: a burst, then one event per refill period', async () => {
    const clock = new ManualClock();
    const { client } = scripted();
    const recorder = new KubeEventRecorder(client, clock, 'gitops-kit', { burst: 3, refillMs: 60_000 });
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await recorder.record({ ...applied, note: `n${i}` }));
    expect(outcomes).toEqual(['created', 'created', 'created', 'dropped', 'dropped']);
    // Another object has its own bucket.
    expect(await recorder.record({ ...applied, regarding: { ...state, name: 'other' } })).toBe('created');
    await clock.advance(60_000);
    expect(await recorder.record({ ...applied, note: 'later' })).toBe('created');
    expect(await recorder.record({ ...applied, note: 'later 2' })).toBe('dropped');
  });

  it('never throws: a failed write goes to onError, typed, without the request body', async () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const { client } = scripted(() => new KubeApiError(403, 'Forbidden', 'events is forbidden'));
    const recorder = new KubeEventRecorder(client, clock, 'gitops-kit', { onError: (e) => errors.push(e) });
    expect(await recorder.record(applied)).toBe('failed');
    expect(errors[0]).toMatchObject({ code: 'EVENT_WRITE_FAILED' });
    expect(String((errors[0] as Error).message)).toContain('ConfigMap ops/gitops-kit-web');
  });

  it('cuts notes to 1 kB', async () => {
    const { client, seen } = scripted();
    const recorder = new KubeEventRecorder(client, new ManualClock(), 'gitops-kit');
    await recorder.record({ ...applied, note: 'x'.repeat(5000) });
    const note = (seen.find((r) => r.method === 'POST')?.body as { note?: string } | undefined)?.note ?? '';
    expect(note.length).toBeLessThanOrEqual(1024);
  });
});
