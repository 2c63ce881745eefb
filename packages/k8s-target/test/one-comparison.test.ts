import { buildPlan, digestObject, type KubeObject, type PlannedObject, refOf } from '@gitops-kit/core';
import { formatPlanDiff } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { diffDesired } from '../src/compare.js';

/** A Deployment of one container `app` with these container fields, at `replicas`. */
function deployment(replicas: number, container: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27', ...container }] },
      },
    },
  };
}

/** A Deployment as declared: `cpu: "2"`, `limits: null`, an empty `env` list and 3 replicas. */
const desired = deployment(3, {
  env: [],
  resources: { requests: { cpu: '2', memory: '0.5Gi' }, limits: null },
});

/** The same Deployment as the apiserver stores it (quantities normalized, empties dropped), at 2 replicas. */
const stored = deployment(2, {
  resources: { requests: { cpu: '2000m', memory: '512Mi' } },
  terminationMessagePath: '/dev/termination-log',
});
const live: KubeObject = { ...stored, metadata: { ...stored.metadata, resourceVersion: '7', uid: 'u-1' } };

function plannedUpdate(): PlannedObject {
  return {
    ref: refOf(desired),
    action: 'update',
    manifest: { object: desired, origin: { file: 'web.yaml', documentIndex: 0, line: 1 } },
    digest: digestObject(desired),
    drifted: false,
    changes: diffDesired(desired, live),
    live,
  };
}

describe('one comparison for the plan and the printed diff', () => {
  it('the planner sees one change: the replicas', () => {
    expect(diffDesired(desired, live)).toEqual([{ path: '/spec/replicas', before: 2, after: 3 }]);
  });

  it('formatPlanDiff prints only the change the planner found, not its tolerated differences', () => {
    const text = formatPlanDiff(buildPlan([plannedUpdate()], []), { context: 100 });
    const changed = text.split('\n').filter((line) => /^[-+] /.test(line));
    expect(changed).toEqual(['-  replicas: 2', '+  replicas: 3']);
    expect(text).not.toContain('limits');
    expect(text).not.toContain('env: []');
    expect(text).toContain('               cpu: 2000m');
  });

  it('a create prints no `null` or empty value the planner does not count', () => {
    const object: PlannedObject = { ...plannedUpdate(), action: 'create', live: undefined };
    const text = formatPlanDiff(buildPlan([object], []));
    expect(text).not.toContain('limits');
    expect(text).not.toContain('env:');
    expect(text).toContain('+              cpu: "2"');
  });
});
