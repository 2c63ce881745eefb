import { GitOpsError } from '@gitops-kit/core';
import {
  ConfigMapStateStore,
  K8sErrorCodes,
  KubeApiError,
  KubeClient,
  KubernetesTarget,
  LeaseConflictError,
  UnknownKindError,
} from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { call, configMap, emptyInventory, manifests, scriptedTarget } from './support/objects.js';

describe('k8s-target errors', () => {
  it('extend GitOpsError, each with a stable code and a stage', () => {
    const api = new KubeApiError(409, 'AlreadyExists', 'exists');
    const unknown = new UnknownKindError('example.com/v1', 'Widget', 'example.com/v1 is not served');
    const lease = new LeaseConflictError('the object has been modified');
    for (const error of [api, unknown, lease]) expect(error).toBeInstanceOf(GitOpsError);
    expect(api).toMatchObject({ code: 'KUBE_ALREADY_EXISTS', stage: 'apply', name: 'KubeApiError' });
    expect(unknown).toMatchObject({
      code: K8sErrorCodes.UnknownKind,
      stage: 'validation',
      name: 'UnknownKindError',
    });
    expect(lease).toMatchObject({ code: K8sErrorCodes.LeaseConflict, name: 'LeaseConflictError' });
  });

  it('an API error escaping validate or apply gets the verb stage and code the Reconciler gave it', async () => {
    const { server, target } = scriptedTarget();
    const plan = await target.plan(manifests([configMap('shop', 'cfg')]), emptyInventory, call());
    // Another target (its own discovery cache) resolves the plan again; discovery now fails.
    const other = new KubernetesTarget({ name: 'shop', client: server.client });
    server.fail((r) => r.path === '/api/v1', { status: 500, reason: 'InternalError', message: 'etcd down' });
    const validation = await other.validate(plan, call()).catch((e: unknown) => e);
    expect(validation).toMatchObject({
      code: 'VALIDATION_FAILED',
      stage: 'validation',
      message: 'etcd down',
    });
    expect((validation as Error).cause).toBeInstanceOf(KubeApiError);
    const apply = await other.apply(plan, call()).catch((e: unknown) => e);
    expect(apply).toMatchObject({ code: 'APPLY_FAILED', stage: 'apply', message: 'etcd down' });
  });

  it('a state object that cannot be read fails with the Reconciler load code, the API error as cause', async () => {
    const client = new KubeClient(async () => ({
      statusCode: 403,
      text: JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'configmaps is forbidden' }),
    }));
    const store = new ConfigMapStateStore(client, { namespace: 'gitops-kit-system' });
    const error = await store.load('shop').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RECONCILE_STATE_LOAD_FAILED', stage: 'reconcile' });
    expect((error as Error).cause).toBeInstanceOf(KubeApiError);
  });
});
