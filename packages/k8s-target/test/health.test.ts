import type { HealthStatus, KubeObject } from '@gitops-kit/core';
import { summarizeHealth } from '@gitops-kit/core';
import { assessHealth, assessObjectHealth, type CustomHealthChecks } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { healthCheckKey } from '../src/health/assess.js';

type Fields = Record<string, unknown>;

const created = '2026-01-01T00:00:00Z';
const createdMs = Date.parse(created);

/** A live object as the apiserver returns it: metadata with the server-set fields. */
function live(apiVersion: string, kind: string, fields: Fields = {}, metadata: Fields = {}): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: '7d1c6c2e-0000-4000-8000-000000000001',
      resourceVersion: '1234',
      creationTimestamp: created,
      ...metadata,
    },
    ...fields,
  };
}

function condition(type: string, status: string, reason = '', message = ''): Fields {
  return { type, status, reason, message, lastTransitionTime: created };
}

function deployment(status: Fields, spec: Fields = {}): KubeObject {
  return live(
    'apps/v1',
    'Deployment',
    {
      spec: { replicas: 3, progressDeadlineSeconds: 600, selector: { matchLabels: { app: 'web' } }, ...spec },
      status: { observedGeneration: 2, ...status },
    },
    { generation: 2 },
  );
}

const deploymentDone: Fields = {
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [
    condition('Available', 'True', 'MinimumReplicasAvailable'),
    condition(
      'Progressing',
      'True',
      'NewReplicaSetAvailable',
      'ReplicaSet "web-5d8f" has successfully progressed.',
    ),
  ],
};

function statefulSet(status: Fields, spec: Fields = {}): KubeObject {
  return live(
    'apps/v1',
    'StatefulSet',
    { spec: { replicas: 3, serviceName: 'web', ...spec }, status: { observedGeneration: 1, ...status } },
    { generation: 1 },
  );
}

const stsDone: Fields = {
  replicas: 3,
  readyReplicas: 3,
  currentReplicas: 3,
  updatedReplicas: 3,
  currentRevision: 'web-6b7f',
  updateRevision: 'web-6b7f',
};

function daemonSet(status: Fields, metadata: Fields = { generation: 4 }): KubeObject {
  return live('apps/v1', 'DaemonSet', { spec: {}, status }, metadata);
}

const dsDone: Fields = {
  observedGeneration: 4,
  desiredNumberScheduled: 2,
  currentNumberScheduled: 2,
  updatedNumberScheduled: 2,
  numberAvailable: 2,
  numberReady: 2,
};

function replicaSet(status: Fields): KubeObject {
  return live('apps/v1', 'ReplicaSet', { spec: { replicas: 2 }, status }, { generation: 1 });
}

const rsDone: Fields = { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2 };

function pod(status: Fields): KubeObject {
  return live('v1', 'Pod', { spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] }, status });
}

const crashLooping = {
  name: 'app',
  ready: false,
  restartCount: 5,
  state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
};

const unschedulable = condition(
  'PodScheduled',
  'False',
  'Unschedulable',
  '0/1 nodes are available: 1 Insufficient cpu.',
);

function job(status: Fields): KubeObject {
  return live('batch/v1', 'Job', { spec: { completions: 1, template: {} }, status }, { generation: 1 });
}

function crd(conditions: Fields[]): KubeObject {
  return live(
    'apiextensions.k8s.io/v1',
    'CustomResourceDefinition',
    { spec: { group: 'example.com' }, status: { conditions } },
    { name: 'widgets.example.com', namespace: undefined, generation: 1 },
  );
}

function widget(status?: Fields, metadata: Fields = {}): KubeObject {
  return live('example.com/v1', 'Widget', status ? { spec: {}, status } : { spec: {} }, metadata);
}

interface Case {
  readonly name: string;
  readonly object: KubeObject;
  readonly status: HealthStatus;
  readonly message?: RegExp;
  readonly now?: number;
}

const cases: Case[] = [
  // Generic rules come first, whatever the kind.
  {
    name: 'deletionTimestamp → Terminating even when otherwise ready',
    object: live('apps/v1', 'Deployment', { status: deploymentDone }, { deletionTimestamp: created }),
    status: 'Terminating',
    message: /deletion/,
  },
  {
    name: 'unobserved generation → InProgress',
    object: live(
      'apps/v1',
      'Deployment',
      { spec: { replicas: 3 }, status: { ...deploymentDone, observedGeneration: 2 } },
      { generation: 3 },
    ),
    status: 'InProgress',
    message: /generation is 3, but latest observed generation is 2/,
  },
  {
    name: 'Reconciling=True → InProgress',
    object: widget(
      { observedGeneration: 1, conditions: [condition('Reconciling', 'True', 'Progressing', 'Fetching')] },
      { generation: 1 },
    ),
    status: 'InProgress',
    message: /Fetching/,
  },
  {
    name: 'Stalled=True → Failed, before a Ready condition',
    object: widget({
      conditions: [
        condition('Ready', 'True', 'Ok'),
        condition('Stalled', 'True', 'BadSpec', 'spec.size invalid'),
      ],
    }),
    status: 'Failed',
    message: /spec.size invalid/,
  },
  {
    name: 'Reconciling=False and Stalled=False do not decide',
    object: widget({ conditions: [condition('Reconciling', 'False'), condition('Stalled', 'False')] }),
    status: 'Current',
  },

  // Deployment
  {
    name: 'Deployment rolled out',
    object: deployment(deploymentDone),
    status: 'Current',
    message: /available/,
  },
  {
    name: 'Deployment past its progress deadline → Failed',
    object: deployment({
      ...deploymentDone,
      updatedReplicas: 1,
      conditions: [
        condition('Available', 'True', 'MinimumReplicasAvailable'),
        condition(
          'Progressing',
          'False',
          'ProgressDeadlineExceeded',
          'ReplicaSet "web-7c9d" has timed out progressing.',
        ),
      ],
    }),
    status: 'Failed',
    message: /Progress deadline exceeded/,
  },
  {
    name: 'Deployment with fewer replicas than spec',
    object: deployment({ ...deploymentDone, replicas: 2 }),
    status: 'InProgress',
    message: /Replicas: 2\/3/,
  },
  {
    name: 'Deployment not all updated',
    object: deployment({ ...deploymentDone, updatedReplicas: 1 }),
    status: 'InProgress',
    message: /Updated: 1\/3/,
  },
  {
    name: 'Deployment with old pods still terminating',
    object: deployment({ ...deploymentDone, replicas: 4 }),
    status: 'InProgress',
    message: /Pending termination: 1/,
  },
  {
    name: 'Deployment with updated pods not yet available',
    object: deployment({ ...deploymentDone, availableReplicas: 2 }),
    status: 'InProgress',
    message: /Available: 2\/3/,
  },
  {
    name: 'Deployment not all ready',
    object: deployment({ ...deploymentDone, readyReplicas: 2 }),
    status: 'InProgress',
    message: /Ready: 2\/3/,
  },
  {
    name: 'Deployment counts fine but Available=False',
    object: deployment({
      ...deploymentDone,
      conditions: [
        condition('Available', 'False', 'MinimumReplicasUnavailable'),
        condition('Progressing', 'True', 'NewReplicaSetAvailable'),
      ],
    }),
    status: 'InProgress',
    message: /not Available/,
  },
  {
    name: 'Deployment counts fine but the new ReplicaSet is still progressing',
    object: deployment({
      ...deploymentDone,
      conditions: [
        condition('Available', 'True', 'MinimumReplicasAvailable'),
        condition('Progressing', 'True', 'ReplicaSetUpdated'),
      ],
    }),
    status: 'InProgress',
  },
  {
    name: 'Deployment without a progress deadline needs no Progressing reason',
    object: live(
      'apps/v1',
      'Deployment',
      {
        spec: { replicas: 1 },
        status: {
          replicas: 1,
          updatedReplicas: 1,
          readyReplicas: 1,
          availableReplicas: 1,
          conditions: [condition('Available', 'True', 'MinimumReplicasAvailable')],
        },
      },
      {},
    ),
    status: 'Current',
  },
  {
    name: 'Deployment just created, no status yet (replicas default to 1)',
    object: live('apps/v1', 'Deployment', { spec: {} }, { generation: 1 }),
    status: 'InProgress',
    message: /Replicas: 0\/1/,
  },

  // StatefulSet
  { name: 'StatefulSet rolled out', object: statefulSet(stsDone), status: 'Current' },
  {
    name: 'StatefulSet with OnDelete is current even mid-rollout',
    object: statefulSet({ ...stsDone, readyReplicas: 0 }, { updateStrategy: { type: 'OnDelete' } }),
    status: 'Current',
    message: /OnDelete/,
  },
  {
    name: 'StatefulSet missing replicas',
    object: statefulSet({ ...stsDone, replicas: 1 }),
    status: 'InProgress',
    message: /Replicas: 1\/3/,
  },
  {
    name: 'StatefulSet not all ready',
    object: statefulSet({ ...stsDone, readyReplicas: 2 }),
    status: 'InProgress',
    message: /Ready: 2\/3/,
  },
  {
    name: 'StatefulSet scaling down',
    object: statefulSet({ ...stsDone, replicas: 5, readyReplicas: 5 }),
    status: 'InProgress',
    message: /Pending termination: 2/,
  },
  {
    name: 'StatefulSet partitioned rollout still updating',
    object: statefulSet(
      { ...stsDone, updatedReplicas: 0, updateRevision: 'web-8a1b' },
      { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } },
    ),
    status: 'InProgress',
    message: /updated 0\/2/,
  },
  {
    name: 'StatefulSet partitioned rollout done although revisions differ',
    object: statefulSet(
      { ...stsDone, updatedReplicas: 2, currentReplicas: 1, updateRevision: 'web-8a1b' },
      { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } },
    ),
    status: 'Current',
    message: /Partitioned rollout complete/,
  },
  {
    name: 'StatefulSet with fewer current replicas',
    object: statefulSet({ ...stsDone, currentReplicas: 2 }),
    status: 'InProgress',
    message: /Current: 2\/3/,
  },
  {
    name: 'StatefulSet whose update revision is not current yet',
    object: statefulSet({ ...stsDone, updateRevision: 'web-8a1b' }),
    status: 'InProgress',
    message: /web-8a1b/,
  },

  // DaemonSet
  { name: 'DaemonSet rolled out', object: daemonSet(dsDone), status: 'Current' },
  {
    name: 'DaemonSet never observed by its controller',
    object: daemonSet({ desiredNumberScheduled: 2 }),
    status: 'InProgress',
    message: /observedGeneration not set/,
  },
  {
    name: 'DaemonSet without generation',
    object: daemonSet(dsDone, {}),
    status: 'InProgress',
    message: /generation not set/,
  },
  {
    name: 'DaemonSet without desiredNumberScheduled',
    object: daemonSet({ observedGeneration: 4 }),
    status: 'InProgress',
    message: /desiredNumberScheduled/,
  },
  {
    name: 'DaemonSet not scheduled everywhere',
    object: daemonSet({ ...dsDone, currentNumberScheduled: 1 }),
    status: 'InProgress',
    message: /Scheduled: 1\/2/,
  },
  {
    name: 'DaemonSet not updated everywhere',
    object: daemonSet({ ...dsDone, updatedNumberScheduled: 1 }),
    status: 'InProgress',
    message: /Updated: 1\/2/,
  },
  {
    name: 'DaemonSet not available everywhere',
    object: daemonSet({ ...dsDone, numberAvailable: 1 }),
    status: 'InProgress',
    message: /Available: 1\/2/,
  },
  {
    name: 'DaemonSet not ready everywhere',
    object: daemonSet({ ...dsDone, numberReady: 0 }),
    status: 'InProgress',
    message: /Ready: 0\/2/,
  },

  // ReplicaSet
  { name: 'ReplicaSet available', object: replicaSet(rsDone), status: 'Current' },
  {
    name: 'ReplicaSet with ReplicaFailure',
    object: replicaSet({
      ...rsDone,
      conditions: [condition('ReplicaFailure', 'True', 'FailedCreate', 'pods "web-x" is forbidden: quota')],
    }),
    status: 'InProgress',
    message: /quota/,
  },
  {
    name: 'ReplicaSet not fully labeled',
    object: replicaSet({ ...rsDone, fullyLabeledReplicas: 1 }),
    status: 'InProgress',
    message: /Labeled: 1\/2/,
  },
  {
    name: 'ReplicaSet not available',
    object: replicaSet({ ...rsDone, availableReplicas: 1 }),
    status: 'InProgress',
    message: /Available: 1\/2/,
  },
  {
    name: 'ReplicaSet not ready',
    object: replicaSet({ ...rsDone, readyReplicas: 1 }),
    status: 'InProgress',
    message: /Ready: 1\/2/,
  },
  {
    name: 'ReplicaSet scaling down',
    object: replicaSet({ ...rsDone, replicas: 3 }),
    status: 'InProgress',
    message: /Pending termination: 1/,
  },

  // Pod
  { name: 'Pod Succeeded', object: pod({ phase: 'Succeeded' }), status: 'Current' },
  { name: 'Pod Failed phase is settled', object: pod({ phase: 'Failed' }), status: 'Current' },
  {
    name: 'Pod Running and Ready',
    object: pod({ phase: 'Running', conditions: [condition('Ready', 'True')] }),
    status: 'Current',
  },
  {
    name: 'Pod Running, not Ready',
    object: pod({ phase: 'Running', conditions: [condition('Ready', 'False', 'ContainersNotReady')] }),
    status: 'InProgress',
  },
  {
    name: 'Pod in CrashLoopBackOff → Failed',
    object: pod({
      phase: 'Running',
      conditions: [condition('Ready', 'False', 'ContainersNotReady')],
      containerStatuses: [crashLooping],
    }),
    status: 'Failed',
    message: /CrashLoopBackOff: app/,
  },
  {
    name: 'Pod with a crash-looping init container → Failed',
    object: pod({ phase: 'Pending', initContainerStatuses: [{ ...crashLooping, name: 'migrate' }] }),
    status: 'Failed',
    message: /migrate/,
  },
  {
    name: 'Pod unschedulable for 10 s → InProgress',
    object: pod({ phase: 'Pending', conditions: [unschedulable] }),
    now: createdMs + 10_000,
    status: 'InProgress',
  },
  {
    name: 'Pod unschedulable for 16 s → Failed',
    object: pod({ phase: 'Pending', conditions: [unschedulable] }),
    now: createdMs + 16_000,
    status: 'Failed',
    message: /Insufficient cpu/,
  },
  { name: 'Pod Pending, scheduled', object: pod({ phase: 'Pending' }), status: 'InProgress' },
  { name: 'Pod without a phase yet', object: pod({}), status: 'InProgress' },
  { name: 'Pod in an unknown phase', object: pod({ phase: 'Exploded' }), status: 'Unknown' },

  // Job
  {
    name: 'Job Complete',
    object: job({ startTime: created, succeeded: 1, conditions: [condition('Complete', 'True')] }),
    status: 'Current',
  },
  {
    name: 'Job Failed',
    object: job({
      startTime: created,
      failed: 6,
      conditions: [condition('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the backoff limit')],
    }),
    status: 'Failed',
    message: /BackoffLimitExceeded/,
  },
  { name: 'Job not started', object: job({}), status: 'InProgress', message: /not started/ },
  {
    name: 'Job running stays InProgress until Complete (Flux)',
    object: job({ startTime: created, active: 1 }),
    status: 'InProgress',
    message: /1 active/,
  },
  {
    name: 'Job suspended',
    object: job({ conditions: [condition('Suspended', 'True', 'JobSuspended')] }),
    status: 'Current',
  },

  // PersistentVolumeClaim
  {
    name: 'PVC Bound',
    object: live('v1', 'PersistentVolumeClaim', { spec: {}, status: { phase: 'Bound' } }),
    status: 'Current',
  },
  {
    name: 'PVC Pending',
    object: live('v1', 'PersistentVolumeClaim', { spec: {}, status: { phase: 'Pending' } }),
    status: 'InProgress',
    message: /Pending/,
  },

  // Service
  {
    name: 'ClusterIP Service',
    object: live('v1', 'Service', { spec: { type: 'ClusterIP', clusterIP: '10.0.0.12' } }),
    status: 'Current',
  },
  {
    name: 'LoadBalancer without cluster IP',
    object: live('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } }),
    status: 'InProgress',
    message: /cluster IP/,
  },
  {
    name: 'LoadBalancer without ingress',
    object: live('v1', 'Service', {
      spec: { type: 'LoadBalancer', clusterIP: '10.0.0.12' },
      status: { loadBalancer: {} },
    }),
    status: 'InProgress',
    message: /ingress/,
  },
  {
    name: 'LoadBalancer with ingress',
    object: live('v1', 'Service', {
      spec: { type: 'LoadBalancer', clusterIP: '10.0.0.12' },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } },
    }),
    status: 'Current',
  },

  // CustomResourceDefinition
  {
    name: 'CRD established',
    object: crd([
      condition('NamesAccepted', 'True', 'NoConflicts'),
      condition('Established', 'True', 'InitialNamesAccepted'),
    ]),
    status: 'Current',
  },
  {
    name: 'CRD with conflicting names',
    object: crd([
      condition('NamesAccepted', 'False', 'ListKindConflict', '"WidgetList" is already in use'),
      condition('Established', 'False', 'NotAccepted'),
    ]),
    status: 'Failed',
    message: /already in use/,
  },
  {
    name: 'CRD installing',
    object: crd([
      condition('NamesAccepted', 'True', 'NoConflicts'),
      condition('Established', 'False', 'Installing'),
    ]),
    status: 'InProgress',
  },
  { name: 'CRD without status', object: crd([]), status: 'InProgress' },

  // Always current, whatever their fields say
  { name: 'ConfigMap', object: live('v1', 'ConfigMap', { data: { a: 'b' } }), status: 'Current' },
  { name: 'Secret', object: live('v1', 'Secret', { type: 'Opaque' }), status: 'Current' },
  {
    name: 'CronJob',
    object: live('batch/v1', 'CronJob', { spec: { schedule: '*/5 * * * *' } }),
    status: 'Current',
  },
  {
    name: 'PodDisruptionBudget',
    object: live('policy/v1', 'PodDisruptionBudget', { spec: { minAvailable: 1 }, status: {} }),
    status: 'Current',
  },

  // Generic Ready condition and the default
  {
    name: 'custom resource Ready=True',
    object: widget({
      conditions: [condition('Ready', 'True', 'Succeeded', 'Applied revision main@sha1:abc')],
    }),
    status: 'Current',
    message: /Applied revision/,
  },
  {
    name: 'custom resource Ready=False',
    object: widget({ conditions: [condition('Ready', 'False', 'DependencyNotReady', 'waiting for db')] }),
    status: 'InProgress',
    message: /waiting for db/,
  },
  {
    name: 'custom resource Ready=Unknown',
    object: widget({ conditions: [condition('Ready', 'Unknown', 'Progressing')] }),
    status: 'InProgress',
  },
  { name: 'custom resource without status', object: widget(), status: 'Current' },
  {
    name: 'Namespace has no rule and no Ready condition',
    object: live('v1', 'Namespace', { status: { phase: 'Active' } }, { namespace: undefined }),
    status: 'Current',
  },
  {
    name: 'core-group kinds are not confused with same-named kinds of other groups',
    object: live('example.com/v1', 'Pod', { status: { phase: 'Exploded' } }),
    status: 'Current',
  },
];

describe('assessHealth', () => {
  it.each(cases)('$name', ({ object, status, message, now }) => {
    const result = assessHealth(object, { now: now ?? createdMs + 60_000 });
    expect(result.status).toBe(status);
    if (message) expect(result.message).toMatch(message);
    expect(result.message).not.toBe('');
  });

  it('uses the time the pod was created to time unschedulability, defaulting to the system clock', () => {
    const object = pod({ phase: 'Pending', conditions: [unschedulable] });
    // Created in 2026-01-01, long before now: the default clock sees it as unschedulable for ages.
    expect(assessHealth(object).status).toBe('Failed');
    expect(assessHealth(object, { now: createdMs + 15_000 }).status).toBe('InProgress');
    expect(assessHealth(object, { now: createdMs + 15_001 }).status).toBe('Failed');
  });

  it('ignores malformed status fields instead of throwing', () => {
    const object = live('apps/v1', 'Deployment', {
      spec: { replicas: '3' },
      status: { replicas: 'many', conditions: [null, 'x', { type: 7 }, { type: 'Available' }] },
    });
    expect(assessHealth(object)).toEqual({ status: 'InProgress', message: 'Replicas: 0/1' });
  });
});

describe('custom health checks', () => {
  const checks: CustomHealthChecks = {
    'example.com/Widget': (object) => {
      const phase = (object.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Broken') return { status: 'Failed', message: 'widget is broken' };
      if (phase === 'Spinning') return { status: 'InProgress', message: 'widget is spinning' };
      return undefined;
    },
    Service: () => ({ status: 'Current', message: 'services are fine here' }),
  };

  it('decides when it returns a result', () => {
    expect(assessHealth(widget({ phase: 'Broken' }), { checks })).toEqual({
      status: 'Failed',
      message: 'widget is broken',
    });
    expect(assessHealth(widget({ phase: 'Spinning' }), { checks }).status).toBe('InProgress');
  });

  it('falls through to the built-in rules when it returns undefined', () => {
    const notReady = widget({ phase: 'Fine', conditions: [condition('Ready', 'False', 'Waiting')] });
    expect(assessHealth(notReady, { checks }).status).toBe('InProgress');
    expect(assessHealth(widget({ phase: 'Fine' }), { checks }).status).toBe('Current');
  });

  it('overrides a built-in kind rule; core-group kinds are keyed by Kind alone', () => {
    const lb = live('v1', 'Service', { spec: { type: 'LoadBalancer' } });
    expect(assessHealth(lb).status).toBe('InProgress');
    expect(assessHealth(lb, { checks })).toEqual({ status: 'Current', message: 'services are fine here' });
  });

  it('does not run for objects being deleted or not yet observed', () => {
    const deleting = widget({ phase: 'Broken' }, { deletionTimestamp: created });
    expect(assessHealth(deleting, { checks }).status).toBe('Terminating');
    const stale = widget({ phase: 'Broken', observedGeneration: 1 }, { generation: 2 });
    expect(assessHealth(stale, { checks }).status).toBe('InProgress');
  });

  it('keys kinds as group/Kind', () => {
    expect(healthCheckKey('apps/v1', 'Deployment')).toBe('apps/Deployment');
    expect(healthCheckKey('v1', 'Service')).toBe('Service');
    expect(healthCheckKey('example.com/v1alpha1', 'Widget')).toBe('example.com/Widget');
  });
});

describe('assessObjectHealth and summarizeHealth', () => {
  it('reports each object with its reference', () => {
    expect(assessObjectHealth(deployment(deploymentDone))).toMatchObject({
      ref: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
      status: 'Current',
    });
  });

  it('is Failed if any failed, Current if all current, else InProgress', () => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'a' };
    const of = (...statuses: HealthStatus[]) =>
      summarizeHealth(statuses.map((status, i) => ({ ref: { ...ref, name: `o${i}` }, status, message: '' })))
        .status;
    expect(of()).toBe('Current');
    expect(of('Current', 'Current')).toBe('Current');
    expect(of('Current', 'InProgress')).toBe('InProgress');
    expect(of('Current', 'Terminating')).toBe('InProgress');
    expect(of('NotFound')).toBe('InProgress');
    expect(of('Unknown', 'Current')).toBe('InProgress');
    expect(of('InProgress', 'Failed', 'Current')).toBe('Failed');
  });

  it('keeps the objects it was given', () => {
    const objects = [
      { ref: { apiVersion: 'v1', kind: 'Secret', name: 's' }, status: 'Current' as const, message: 'x' },
    ];
    expect(summarizeHealth(objects).objects).toEqual(objects);
  });
});

describe('a progress deadline exceeded before the last spec write (a rollback, a fixed image)', () => {
  const timedOut = (updatedAt: string) => ({
    ...deploymentDone,
    conditions: [
      {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "web-bad" has timed out progressing.',
        lastTransitionTime: updatedAt,
        lastUpdateTime: updatedAt,
      },
    ],
  });
  const spec = { 'f:spec': { 'f:template': {} } };
  const withWrites = (object: KubeObject, entries: Record<string, unknown>[]): KubeObject => ({
    ...object,
    metadata: {
      ...object.metadata,
      managedFields: [
        ...entries,
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          subresource: 'status',
          time: '2030-01-01T00:00:00Z',
        },
      ],
    },
  });
  const withSpecWrite = (object: KubeObject, time: string): KubeObject =>
    withWrites(object, [{ manager: 'gitops-kit', operation: 'Apply', time, fieldsV1: spec }]);
  const at = (iso: string) => ({ now: Date.parse(iso) });

  it('is about the previous rollout: InProgress until the controller reports on the new one', () => {
    const object = withSpecWrite(deployment(timedOut('2026-12-01T10:00:00Z')), '2026-12-01T10:00:05Z');
    expect(assessHealth(object, at('2026-12-01T10:00:30Z'))).toMatchObject({
      status: 'InProgress',
      message: /earlier rollout exceeded/,
    });
  });

  it('after the last spec write it is this rollout failing', () => {
    const object = withSpecWrite(deployment(timedOut('2026-12-01T10:00:09Z')), '2026-12-01T10:00:05Z');
    expect(assessHealth(object, at('2026-12-01T10:00:30Z'))).toMatchObject({ status: 'Failed' });
  });

  it('a label or a scale written later does not hide a real failure', () => {
    const failed = deployment(timedOut('2026-12-01T10:00:00Z'));
    const label = withWrites(failed, [
      {
        manager: 'kubectl-label',
        operation: 'Update',
        time: '2026-12-01T10:00:05Z',
        fieldsV1: { 'f:metadata': {} },
      },
    ]);
    const scale = withWrites(failed, [
      {
        manager: 'hpa',
        operation: 'Update',
        subresource: 'scale',
        time: '2026-12-01T10:00:05Z',
        fieldsV1: spec,
      },
    ]);
    expect(assessHealth(label, at('2026-12-01T10:00:30Z')).status).toBe('Failed');
    expect(assessHealth(scale, at('2026-12-01T10:00:30Z')).status).toBe('Failed');
  });

  it('the grace ends two progress deadlines and 30 s after the write: the new rollout failed too', () => {
    const object = withSpecWrite(deployment(timedOut('2026-12-01T10:00:00Z')), '2026-12-01T10:00:05Z');
    // progressDeadlineSeconds is 600 in these fixtures: the grace ends at 10:20:35.
    expect(assessHealth(object, at('2026-12-01T10:20:30Z')).status).toBe('InProgress');
    expect(assessHealth(object, at('2026-12-01T10:20:36Z')).status).toBe('Failed');
  });
});
