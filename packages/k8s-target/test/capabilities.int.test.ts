import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelmRenderer, Reconciler } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getObject, kubeTarget, namespace, uniqueName } from './kube-helpers.js';

const signal = new AbortController().signal;

/**
 * A chart that installs only on the cluster's minor version and reads `.Capabilities`: the helm of
 * testenv reports v1.37 of its own client libraries, the living cluster v1.32.
 */
function chart(minor: number): Record<string, string> {
  return {
    'Chart.yaml': `apiVersion: v2\nname: capable\nversion: 0.1.0\nkubeVersion: ">=1.${minor}.0-0 <1.${minor + 1}.0-0"\n`,
    'templates/cm.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-caps',
      '  namespace: {{ .Release.Namespace }}',
      'data:',
      '  kube: {{ .Capabilities.KubeVersion.Version | quote }}',
      '  deployments: {{ .Capabilities.APIVersions.Has "apps/v1/Deployment" | quote }}',
      '  leases: {{ .Capabilities.APIVersions.Has "coordination.k8s.io/v1" | quote }}',
      '  widgets: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}',
      '',
    ].join('\n'),
  };
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'caps-int-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('cluster capabilities for Helm (living cluster)', () => {
  it("reads the cluster's version and API versions, and the Reconciler renders a kubeVersion-bound chart with them", async () => {
    const kube = await testenv.kube();
    const tools = await testenv.tools();
    const { target, admin } = await kubeTarget();
    const capabilities = await target.capabilities({ signal });
    expect(capabilities.kubeVersion).toBe(kube.version);
    expect(capabilities.apiVersions).toContain('v1');
    expect(capabilities.apiVersions).toContain('apps/v1');
    expect(capabilities.apiVersions).toContain('apps/v1/Deployment');
    expect(capabilities.apiVersions).toContain('v1/ConfigMap');
    // Kept: a second call makes no request.
    const before = target.client.counters.requests;
    await target.capabilities({ signal });
    expect(target.client.counters.requests).toBe(before);

    const minor = Number(/^v?1\.(\d+)\./.exec(kube.version)?.[1]);
    const ns = uniqueName('caps');
    await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(ns) });
    const source = new MemorySource({ files: chart(minor) });
    const renderer = new HelmRenderer({ binary: tools.helm, releaseName: 'rel', namespace: ns });

    // Helm alone takes its own default version and refuses the chart.
    const alone = await renderer.render(await source.fetch({ signal }), { signal }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(alone?.message).toContain('kubeVersion');

    const reconciler = new Reconciler({ name: uniqueName('caps'), source, renderer, target });
    const result = await reconciler.reconcile();
    expect(result.error?.message).toBeUndefined();
    expect(result.outcome).toBe('succeeded');
    const cm = (await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/rel-caps`)) as
      | { data?: Record<string, string> }
      | undefined;
    expect(cm?.data).toEqual({
      kube: kube.version.startsWith('v') ? kube.version : `v${kube.version}`,
      deployments: 'true',
      leases: 'true',
      widgets: 'false',
    });
  });
});
