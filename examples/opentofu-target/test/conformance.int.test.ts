import { describeConformance, type TargetFixture, targetConformance } from '@gitops-kit/core/conformance';
import { afterAll, describe, it } from 'vitest';
import { MODULE_KIND } from '../src/index.js';
import {
  addressesIn,
  moduleCode,
  readState,
  removeFolders,
  render,
  stateBucket,
  tofuTarget,
} from './support/tofu-env.js';

// The OpenTofu target passes the Target kit: real tofu, a provider from the filesystem mirror,
// state in MinIO through the S3 backend with a lock file.
afterAll(removeFolders);

let counter = 0;

async function tofuFixture(): Promise<TargetFixture> {
  const state = await stateBucket();
  const key = `conformance-${++counter}.tfstate`;
  const foreignKey = `someone-else-${counter}.tfstate`;
  const target = await tofuTarget(state, key);
  const inStates = async (): Promise<string[]> => [
    ...addressesIn(await readState(state, key)),
    ...addressesIn(await readState(state, foreignKey)),
  ];
  return {
    target,
    manifests: await render(moduleCode()),
    changed: await render(moduleCode({ color: 'green' })),
    observe: () => readState(state, key),
    exists: async (ref) =>
      ref.kind === MODULE_KIND
        ? (await readState(state, key)) !== undefined
        : (await inStates()).includes(`${ref.kind}.${ref.name}`),
    foreign: async () => {
      // Another workspace's resource: in another state, not ours to destroy.
      const other = await tofuTarget(state, foreignKey);
      const signal = AbortSignal.timeout(60_000);
      const plan = await other.plan(
        await render({ 'main.tf': 'resource "terraform_data" "hand_made" {\n  input = "by hand"\n}\n' }),
        { entries: [] },
        { signal },
      );
      await other.apply(plan, { signal });
      return { apiVersion: 'opentofu.org/v1', kind: 'terraform_data', name: 'hand_made' };
    },
    invalid: await render({
      'main.tf': 'resource "terraform_data" "bad" {\n  input = var.not_declared\n}\n',
    }),
  };
}

describeConformance({ describe, it }, targetConformance, tofuFixture, {
  name: 'TofuTarget (OpenTofu, S3 state in MinIO) passes the Target kit',
  timeout: 120_000,
});
