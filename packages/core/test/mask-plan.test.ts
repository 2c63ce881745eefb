import { MASKED_VALUE, maskPlanSecrets, type Plan, type ReconcilerEvents } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { rig } from './support/reconciler-fixtures.js';

const PASSWORD = 'hunter2-very-secret';
const B64 = Buffer.from(PASSWORD).toString('base64');

function secret(value: string): string {
  return `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: default\nstringData:\n  password: ${value}\n`;
}

describe('Secret values never leave the target in a plan', () => {
  it('the planned event and Reconciler.plan() mask data, stringData and live values', async () => {
    const r = rig({ 'secret.yaml': secret(PASSWORD) });
    await r.reconciler.reconcile();
    // The secret changes: the plan now has a live object with the old value and a desired new one.
    r.source.setFile('secret.yaml', secret(`${PASSWORD}-2`)).commit();
    const preview = await r.reconciler.plan();
    await r.reconciler.reconcile();

    const planned = r.events
      .filter(([name]) => name === 'planned')
      .map(([, payload]) => (payload as ReconcilerEvents['planned']).plan);
    for (const plan of [preview, ...planned]) {
      const text = JSON.stringify(plan);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(B64);
      expect(text).toContain(MASKED_VALUE);
    }
    // The apply still got the real value.
    const live = r.cluster.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'default', name: 'db' });
    const written = JSON.stringify(live);
    const b64 = Buffer.from(`${PASSWORD}-2`).toString('base64');
    expect(written.includes(`${PASSWORD}-2`) || written.includes(b64)).toBe(true);
  });

  it('returns the same plan when it holds no Secret', () => {
    const plan: Plan = { objects: [], create: [], update: [], unchanged: [], drifted: [], prune: [] };
    expect(maskPlanSecrets(plan)).toBe(plan);
  });
});
