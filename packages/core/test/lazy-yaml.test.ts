import { modulesLoadedByImport, modulesOf } from '@gitops-kit/testenv';
import { describe, expect, it } from 'vitest';

const yaml = (urls: readonly string[]): string[] => modulesOf(urls, 'yaml');

describe('core loads the YAML parser on the first parse', () => {
  it('importing core loads no yaml module; parsing manifests does', async () => {
    expect(yaml(await modulesLoadedByImport(['@gitops-kit/core']))).toEqual([]);
    const parsed = await modulesLoadedByImport(
      ['@gitops-kit/core'],
      "m0.parseManifests('apiVersion: v1\\nkind: ConfigMap\\nmetadata: { name: a }\\n', 'a.yaml');",
    );
    expect(yaml(parsed).length).toBeGreaterThan(0);
  }, 60_000);
});
