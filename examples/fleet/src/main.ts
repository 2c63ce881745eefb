#!/usr/bin/env node
/**
 * gitops-kit-fleet: runs one app on every cluster of a folder of kubeconfigs, a new revision in
 * waves. Prints the fleet's status whenever it changes; Ctrl-C stops.
 *
 *   gitops-kit-fleet --clusters ./clusters --source ./app [--max-unavailable 50%] [--bake 30]
 */
import { parseArgs } from 'node:util';
import type { RolloutStrategy } from '@gitops-kit/core';
import { fleetFromFolder } from './fleet-from-folder.js';
import { describeFleet } from './report.js';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: 'clusters' },
    source: { type: 'string', default: 'app' },
    'max-unavailable': { type: 'string' },
    bake: { type: 'string', default: '30' },
    interval: { type: 'string', default: '60' },
  },
});
const maxUnavailable = values['max-unavailable'];
const rollout: RolloutStrategy | undefined = maxUnavailable
  ? {
      maxUnavailable: (maxUnavailable.endsWith('%')
        ? maxUnavailable
        : Number(maxUnavailable)) as RolloutStrategy['maxUnavailable'] & {},
      bakeTime: Number(values.bake) * 1000,
    }
  : undefined;
const { fleet, manager } = fleetFromFolder({
  clustersDir: values.clusters,
  sourceDir: values.source,
  interval: Number(values.interval) * 1000,
  ...(rollout ? { rollout } : {}),
});
await fleet.start();
manager.start();
let last = '';
const timer = setInterval(() => {
  const text = describeFleet(fleet.status());
  if (text !== last) process.stdout.write(`${text}\n`);
  last = text;
}, 1_000);
const stop = async (): Promise<void> => {
  clearInterval(timer);
  fleet.stop();
  await manager.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
