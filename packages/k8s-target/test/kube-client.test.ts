import { GitOpsError } from '@gitops-kit/core';
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
});
