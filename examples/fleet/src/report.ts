import { clustersNotAt, type FleetStatus } from '@gitops-kit/core';

/** A few lines for people: the rollout, then each cluster not at the newest revision and why. */
export function describeFleet(status: FleetStatus): string {
  const lines: string[] = [];
  const latest = status.latestRevision;
  const rollout = status.rollout;
  lines.push(
    `newest ${latest ?? '(none yet)'}${rollout ? ` | rollout ${rollout.phase}: ${rollout.message}` : ''}`,
  );
  if (rollout && rollout.waves.length > 0) {
    lines.push(`  waves: ${rollout.waves.map((w) => `${w.name}=${w.phase}`).join(' ')}`);
  }
  const behind = latest ? clustersNotAt(status, latest) : [];
  const total = Object.keys(status.clusters).length;
  lines.push(`  ${total - behind.length} of ${total} clusters at the newest revision`);
  for (const b of behind) lines.push(`  ${b.cluster}: ${b.reason} (${b.message})`);
  return lines.join('\n');
}
