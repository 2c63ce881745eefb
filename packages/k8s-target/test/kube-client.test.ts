import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GitOpsError } from '@gitops-kit/core';
import { ManualClock, whileTimePasses } from '@gitops-kit/core/testing';
import { KubeApiError, KubeClient, type KubeRequest } from '@gitops-kit/k8s-target';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

describe('KubeClient', () => {
  it('refuses a KubeConfig without a current cluster with a typed error', () => {
    const error = (() => {
      try {
        KubeClient.fromKubeConfig(new KubeConfig());
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(GitOpsError);
    expect(error).toMatchObject({ code: 'APPLY_INVALID_KUBECONFIG' });
  });

  it('counts requests, writes and dry-runs, and sends bodies untouched', async () => {
    const seen: KubeRequest[] = [];
    const client = new KubeClient(async (request) => {
      seen.push(request);
      return { statusCode: 200, text: JSON.stringify({ ok: true }) };
    });
    const body = { apiVersion: 'apps/v1', kind: 'Deployment', spec: { unknownToModels: { x: 1 } } };
    await client.request({ method: 'GET', path: '/api/v1' });
    await client.request({ method: 'PATCH', path: '/x', body, query: { dryRun: 'All' } });
    await client.request({ method: 'PATCH', path: '/x', body });
    expect(client.counters).toEqual({ requests: 3, writes: 1, dryRuns: 1 });
    expect(seen[2]?.body).toBe(body);
  });

  it('turns a Status body into a KubeApiError with reason and causes', async () => {
    const client = new KubeClient(async () => ({
      statusCode: 422,
      text: JSON.stringify({
        kind: 'Status',
        reason: 'Invalid',
        message: 'Deployment.apps "web" is invalid: spec.selector: field is immutable',
        details: { causes: [{ field: 'spec.selector', reason: 'FieldValueInvalid' }] },
      }),
    }));
    const error = await client.request({ method: 'PATCH', path: '/x', body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ statusCode: 422, reason: 'Invalid', causes: [{ field: 'spec.selector' }] });
    expect(error).toMatchObject({ code: 'KUBE_INVALID' });
  });

  it('derives a stable code from a multi-word Status reason', async () => {
    const client = new KubeClient(async () => ({
      statusCode: 409,
      text: JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', message: 'exists' }),
    }));
    const error = await client.request({ method: 'POST', path: '/x', body: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'KUBE_ALREADY_EXISTS', statusCode: 409 });
  });

  it('refuses to send when the signal is aborted', async () => {
    const client = new KubeClient(async () => ({ statusCode: 200, text: '{}' }));
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(client.request({ method: 'GET', path: '/api', signal: controller.signal })).rejects.toThrow(
      'stop',
    );
    expect(client.counters.requests).toBe(0);
  });

  describe('answers that ask to be retried', () => {
    const initializing = JSON.stringify({
      kind: 'Status',
      reason: 'TooManyRequests',
      message: 'storage is (re)initializing',
      details: { retryAfterSeconds: 1 },
    });

    /** A transport that answers `answers` in turn, then 200; records when each request came. */
    function scripted(
      clock: ManualClock,
      answers: { statusCode: number; text?: string; retryAfter?: string }[],
    ) {
      const at: number[] = [];
      const transport = async () => {
        at.push(clock.now());
        const next = answers.shift();
        return next ? { text: '', ...next } : { statusCode: 200, text: '{"ok":true}' };
      };
      return { at, transport };
    }

    it('waits what Retry-After asks and sends again, counting and reporting every attempt', async () => {
      const clock = new ManualClock();
      const start = clock.now();
      const { at, transport } = scripted(clock, [
        { statusCode: 429, text: initializing, retryAfter: '1' },
        { statusCode: 429, text: initializing, retryAfter: '2' },
      ]);
      const client = new KubeClient(transport, { clock });
      const codes: number[] = [];
      client.onResponse((r) => codes.push(r.code));
      const body = await whileTimePasses(clock, client.request({ method: 'PATCH', path: '/x', body: {} }));
      expect(body).toEqual({ ok: true });
      expect(at.map((t) => t - start)).toEqual([0, 1000, 3000]);
      expect(codes).toEqual([429, 429, 200]);
      expect(client.counters).toMatchObject({ requests: 3 });
    });

    it('reads retryAfterSeconds from a Status body when the header is missing, and retries 503 too', async () => {
      const clock = new ManualClock();
      const start = clock.now();
      const { at, transport } = scripted(clock, [
        { statusCode: 429, text: initializing },
        { statusCode: 503, text: '', retryAfter: '3' },
      ]);
      const client = new KubeClient(transport, { clock });
      await whileTimePasses(clock, client.request({ method: 'GET', path: '/api/v1/pods' }));
      expect(at.map((t) => t - start)).toEqual([0, 1000, 4000]);
    });

    it('does not retry a 429 or 500 without Retry-After, nor a 409 with it', async () => {
      for (const answer of [
        { statusCode: 429, text: '{}' },
        { statusCode: 500, text: 'boom' },
        { statusCode: 409, text: '{}', retryAfter: '1' },
      ]) {
        const clock = new ManualClock();
        const { at, transport } = scripted(clock, [answer]);
        const client = new KubeClient(transport, { clock });
        const error = await client.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
        expect(error).toMatchObject({ statusCode: answer.statusCode });
        expect(at).toHaveLength(1);
      }
    });

    it('gives up after maxRetries with the last answer as a typed error, and caps a long wait at 10 s', async () => {
      const clock = new ManualClock();
      const start = clock.now();
      const { at, transport } = scripted(
        clock,
        Array.from({ length: 5 }, () => ({ statusCode: 429, text: initializing, retryAfter: '3600' })),
      );
      const client = new KubeClient(transport, { clock, maxRetries: 2 });
      const error = await whileTimePasses(
        clock,
        client.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e),
      );
      expect(error).toBeInstanceOf(KubeApiError);
      expect(error).toMatchObject({
        statusCode: 429,
        reason: 'TooManyRequests',
        code: 'KUBE_TOO_MANY_REQUESTS',
      });
      expect(at.map((t) => t - start)).toEqual([0, 10_000, 20_000]);
    });

    it('stops waiting when the signal aborts', async () => {
      const { at, transport } = scripted(new ManualClock(), [{ statusCode: 429, text: '', retryAfter: '5' }]);
      const client = new KubeClient(transport);
      const controller = new AbortController();
      const pending = client.request({ method: 'GET', path: '/x', signal: controller.signal });
      setTimeout(() => controller.abort(new Error('pass cancelled')), 20);
      await expect(pending).rejects.toThrow('pass cancelled');
      expect(at).toHaveLength(1);
    });

    it('reads Retry-After from a real HTTP answer (the KubeConfig transport)', async () => {
      let calls = 0;
      const server = createServer((_req, res) => {
        calls++;
        if (calls === 1) {
          res.writeHead(429, { 'Retry-After': '0', 'Content-Type': 'application/json' });
          res.end(initializing);
        } else res.end('{"kind":"NamespaceList","items":[]}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const kc = new KubeConfig();
        kc.loadFromOptions({
          clusters: [
            {
              name: 'busy',
              server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
              skipTLSVerify: true,
            },
          ],
          users: [{ name: 'u' }],
          contexts: [{ name: 'c', cluster: 'busy', user: 'u' }],
          currentContext: 'c',
        });
        const list = await KubeClient.fromKubeConfig(kc).request({
          method: 'GET',
          path: '/api/v1/namespaces',
        });
        expect(list).toEqual({ kind: 'NamespaceList', items: [] });
        expect(calls).toBe(2);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  });
});
