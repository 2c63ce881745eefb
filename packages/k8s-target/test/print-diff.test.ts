import {
  buildPlan,
  digestObject,
  type FieldChange,
  type InventoryEntry,
  type KubeObject,
  type PlannedObject,
  refOf,
} from '@gitops-kit/core';
import { formatPlanDiff, planSummaryLine } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { diffTexts, toDiffYaml } from '../src/print-diff.js';

function planned(
  object: KubeObject,
  action: PlannedObject['action'],
  extra: { live?: KubeObject; drifted?: boolean; changes?: FieldChange[]; line?: number } = {},
): PlannedObject {
  return {
    ref: refOf(object),
    action,
    manifest: { object, origin: { file: 'apps/web.yaml', documentIndex: 0, line: extra.line ?? 1 } },
    digest: digestObject(object),
    drifted: extra.drifted ?? false,
    changes: extra.changes ?? [],
    live: extra.live,
  };
}

const desiredDeployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
    },
  },
};

/** The same Deployment as the apiserver returns it after an earlier apply of 2 replicas, nginx 1.26 and an env var. */
const liveDeployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: '1b6f3c3e-1111-4000-8000-000000000001',
    resourceVersion: '48213',
    generation: 4,
    creationTimestamp: '2026-01-01T00:00:00Z',
    labels: { app: 'web', 'gitops-kit.dev/owner': 'shop' },
    annotations: { 'deployment.kubernetes.io/revision': '4', 'gitops-kit.dev/owner-name': 'shop' },
    managedFields: [
      {
        manager: 'gitops-kit',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {}, 'f:gitops-kit.dev/owner': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"app"}': {
                    '.': {},
                    'f:env': { 'k:{"name":"MODE"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
                    'f:image': {},
                    'f:name': {},
                    'f:ports': {
                      'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} },
                    },
                  },
                },
              },
            },
          },
        },
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
        fieldsV1: { 'f:status': { 'f:replicas': {} } },
      },
    ],
  },
  spec: {
    progressDeadlineSeconds: 600,
    replicas: 2,
    revisionHistoryLimit: 10,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            env: [{ name: 'MODE', value: 'on' }],
            image: 'nginx:1.26',
            imagePullPolicy: 'IfNotPresent',
            name: 'app',
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            terminationMessagePath: '/dev/termination-log',
          },
        ],
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
      },
    },
  },
  status: { observedGeneration: 4, replicas: 2, readyReplicas: 2 },
};

const newConfig: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'shop' },
  data: { feature: 'yes', mode: 'on' },
};

const oldEntry: InventoryEntry = {
  ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'legacy' },
  digest: 'sha256:0',
};

const secretDesired: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'shop' },
  type: 'Opaque',
  data: { user: Buffer.from('admin').toString('base64') },
  stringData: { password: 'hunter3', token: 'tok-same' },
};

const secretLive: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'db',
    namespace: 'shop',
    resourceVersion: '77',
    managedFields: [
      {
        manager: 'gitops-kit',
        operation: 'Apply',
        fieldsV1: {
          'f:data': { 'f:password': {}, 'f:removed': {}, 'f:token': {}, 'f:user': {} },
          'f:type': {},
        },
      },
    ],
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMg=="}}',
    },
  },
  type: 'Opaque',
  data: {
    user: Buffer.from('admin').toString('base64'),
    password: Buffer.from('hunter2').toString('base64'),
    token: Buffer.from('tok-same').toString('base64'),
    removed: Buffer.from('old-value').toString('base64'),
  },
};

describe('planSummaryLine', () => {
  it('counts each action', () => {
    const plan = buildPlan(
      [
        planned(newConfig, 'create'),
        planned(desiredDeployment, 'update', { live: liveDeployment, drifted: true }),
        planned(secretDesired, 'unchanged'),
      ],
      [oldEntry],
    );
    expect(planSummaryLine(plan)).toBe('Plan: 1 to create, 1 to update, 1 to prune, 1 drifted, 1 unchanged');
  });
});

describe('formatPlanDiff', () => {
  it('prints nothing but the summary for a plan without changes', () => {
    const plan = buildPlan([planned(newConfig, 'unchanged')], []);
    expect(formatPlanDiff(plan)).toBe('Plan: 0 to create, 0 to update, 0 to prune, 0 drifted, 1 unchanged\n');
    expect(formatPlanDiff(plan, { showUnchanged: true })).toContain('unchanged v1 ConfigMap shop/settings');
  });

  it('shows a created object as all additions, with its origin', () => {
    const out = formatPlanDiff(buildPlan([planned(newConfig, 'create', { line: 12 })], []));
    expect(out).toContain('+ create v1 ConfigMap shop/settings  (apps/web.yaml:12)');
    expect(out).toContain('--- live\n+++ desired\n@@ -0,0 +1,8 @@\n+apiVersion: v1\n+kind: ConfigMap\n');
    // YAML 1.1 keeps these strings quoted, so kubectl would not read them as booleans.
    expect(out).toContain('+  feature: "yes"');
    expect(out).toContain('+  mode: "on"');
  });

  it('diffs an update against the live object without server noise or defaults', () => {
    const out = formatPlanDiff(
      buildPlan([planned(desiredDeployment, 'update', { live: liveDeployment })], []),
    );
    expect(out).toContain('~ update apps/v1 Deployment shop/web  (apps/web.yaml:1)');
    expect(out).toContain('-  replicas: 2\n+  replicas: 3');
    expect(out).toContain('-          image: nginx:1.26\n+          image: nginx:1.27');
    for (const noise of [
      'managedFields',
      'resourceVersion',
      'uid:',
      'creationTimestamp',
      'generation',
      'status:',
      'readyReplicas',
      'dnsPolicy',
      'terminationMessagePath',
      'revisionHistoryLimit',
      'deployment.kubernetes.io/revision',
      'gitops-kit.dev/owner',
    ]) {
      expect(out).not.toContain(noise);
    }
  });

  it('shows fields our field manager owns but the desired object dropped as removals', () => {
    const out = formatPlanDiff(
      buildPlan([planned(desiredDeployment, 'update', { live: liveDeployment })], []),
    );
    expect(out).toMatch(/-\s+env:\n-\s+- name: MODE\n-\s+value: "on"/);
    // The port's protocol was defaulted by the server, and we never declared it.
    expect(out).not.toContain('protocol');
  });

  it('lines up keys in the desired order so reordering alone is no change', () => {
    const reordered: KubeObject = {
      kind: 'ConfigMap',
      data: { mode: 'on', feature: 'yes' },
      metadata: { namespace: 'shop', name: 'settings' },
      apiVersion: 'v1',
    };
    const texts = diffTexts(planned(newConfig, 'update', { live: reordered }));
    expect(texts.live).toBe(texts.desired);
  });

  it('honours the context option', () => {
    const wide = formatPlanDiff(
      buildPlan([planned(desiredDeployment, 'update', { live: liveDeployment })], []),
      {
        context: 10,
      },
    );
    const narrow = formatPlanDiff(
      buildPlan([planned(desiredDeployment, 'update', { live: liveDeployment })], []),
      { context: 0 },
    );
    const body = (text: string) => text.split('\n').filter((line) => line.startsWith(' ')).length;
    expect(body(narrow)).toBe(0);
    expect(body(wide)).toBeGreaterThan(5);
  });

  it('masks secret values but says which changed, were added or removed', () => {
    const out = formatPlanDiff(buildPlan([planned(secretDesired, 'update', { live: secretLive })], []));
    for (const secret of [
      'hunter',
      'aHVudGVy',
      'tok-same',
      'YWRtaW4',
      'admin',
      'b2xkLXZhbHVl',
      'old-value',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('-  password: "***"\n+  password: "*** (changed)"');
    expect(out).toContain('-  removed: "***"');
    // Unchanged values (one given as stringData, one as base64 data) are not diff lines.
    expect(out).toMatch(/\n {3}token: "\*\*\*"/);
    expect(out).toMatch(/\n {3}user: "\*\*\*"/);
    expect(out).not.toContain('stringData');
  });

  it('masks secret values of a created Secret', () => {
    const out = formatPlanDiff(buildPlan([planned(secretDesired, 'create')], []));
    expect(out).not.toContain('hunter3');
    expect(out).not.toContain('YWRtaW4');
    expect(out).toContain('+  password: "***"');
  });

  it('falls back to the field changes when the target kept no live object', () => {
    const changes: FieldChange[] = [
      { path: '/spec/replicas', before: 2, after: 3 },
      { path: '/metadata/labels/tier', after: 'web' },
      { path: '/data/password', before: '***', after: '***' },
    ];
    const out = formatPlanDiff(
      buildPlan([planned(desiredDeployment, 'update', { changes, drifted: true })], []),
    );
    expect(out).toContain('~ update apps/v1 Deployment shop/web (drifted: changed outside gitops-kit)');
    expect(out).toContain('  /spec/replicas: 2 → 3');
    expect(out).toContain('  /metadata/labels/tier: + "web"');
    expect(out).toContain('  /data/password: *** → ***');
  });

  it('lists the objects to prune', () => {
    const out = formatPlanDiff(buildPlan([], [oldEntry]));
    expect(out).toBe(
      'Plan: 0 to create, 0 to update, 1 to prune, 0 drifted, 0 unchanged\n\n- prune v1 ConfigMap shop/legacy\n',
    );
  });

  it('colors additions, removals and hunk headers only when asked', () => {
    const plan = buildPlan([planned(desiredDeployment, 'update', { live: liveDeployment })], [oldEntry]);
    const plain = formatPlanDiff(plan);
    const colored = formatPlanDiff(plan, { color: true });
    expect(plain).not.toContain('\u001b[');
    expect(colored).toContain('\u001b[32m+  replicas: 3\u001b[0m');
    expect(colored).toContain('\u001b[31m-  replicas: 2\u001b[0m');
    const hunkHeaders = colored.split('\n').filter((line) => line.includes('@@'));
    expect(hunkHeaders.length).toBeGreaterThan(0);
    for (const line of hunkHeaders) expect(line).toMatch(/^.\[36m@@ -\d+,\d+ \+\d+,\d+ @@.\[0m$/);
    expect(colored).toContain('\u001b[31m- prune v1 ConfigMap shop/legacy\u001b[0m');
    // Without escapes both say the same.
    const escapes = ['\u001b[0m', '\u001b[1m', '\u001b[31m', '\u001b[32m', '\u001b[36m'];
    expect(escapes.reduce((text, code) => text.replaceAll(code, ''), colored)).toBe(plain);
  });
});

describe('toDiffYaml', () => {
  it('writes YAML 1.1 that keeps boolean-like strings quoted and long lines whole', () => {
    const long = 'x'.repeat(200);
    const text = toDiffYaml({ a: 'on', b: 'no', c: true, d: long });
    expect(text).toBe(`a: "on"\nb: "no"\nc: true\nd: ${long}\n`);
  });
});

describe('formatPlanDiff: phases and waves', () => {
  it('shows the phase and wave of each object the reconciler planned, and why a hook does not run', () => {
    const hook: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: 'shop' },
    };
    const drop: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'drop', namespace: 'shop' },
    };
    const plan = buildPlan(
      [
        {
          ...planned(hook, 'create'),
          lifecycle: { phase: 'PreSync', wave: -1, hook: true, generatedName: true },
        },
        { ...planned(desiredDeployment, 'unchanged'), lifecycle: { phase: 'Sync', wave: 2, hook: false } },
        {
          ...planned(drop, 'create'),
          lifecycle: {
            phase: undefined,
            wave: 0,
            hook: true,
            notRun: 'Helm pre-delete hook: runs on uninstall',
          },
        },
      ],
      [],
    );
    const text = formatPlanDiff(plan, { showUnchanged: true });
    expect(text).toContain(
      '+ create batch/v1 Job shop/migrate  (apps/web.yaml:1)  [PreSync wave -1, hook, name generated per sync]',
    );
    expect(text).toContain('  unchanged apps/v1 Deployment shop/web  [Sync wave 2]');
    expect(text).toContain('[not run: Helm pre-delete hook: runs on uninstall]');
  });
});
