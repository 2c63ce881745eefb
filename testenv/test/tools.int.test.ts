import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pinnedVersions, testenv } from '@gitops-kit/testenv';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('testenv tools', () => {
  it('finds real kustomize, helm and kubectl binaries with their versions', async () => {
    const tools = await testenv.tools();
    expect(tools.versions.kustomize).toBe(pinnedVersions().kustomize);
    expect(tools.versions.helm).toBe(pinnedVersions().helm);
    expect(tools.versions.kubectl).toMatch(/^v1\.\d+\.\d+/);
    for (const path of [tools.kustomize, tools.helm, tools.kubectl]) expect(path).toMatch(/^\//);
  });

  it('runs kustomize build on a fixture', async () => {
    const { kustomize } = await testenv.tools();
    const { stdout } = await exec(kustomize, ['build', fixture('kustomize')]);
    expect(stdout).toContain('name: dev-settings');
    expect(stdout).toContain('namespace: smoke');
    expect(stdout).toContain('app.kubernetes.io/part-of: smoke');
    // The generator appends a content hash to the name.
    expect(stdout).toMatch(/name: dev-generated-[a-z0-9]{10}/);
  });

  it('runs helm template on a fixture chart', async () => {
    const { helm } = await testenv.tools();
    const { stdout } = await exec(helm, [
      'template',
      fixture('chart'),
      '--name-template',
      'smoke',
      '--namespace',
      'apps',
      '--set',
      'greeting=hi there',
    ]);
    expect(stdout).toContain('name: "smoke-settings"');
    expect(stdout).toContain('namespace: "apps"');
    expect(stdout).toContain('greeting: "hi there"');
    expect(stdout).toContain('helm.sh/chart: "smoke-0.1.0"');
  });

  it("reports its client libraries' Kubernetes version, so a chart needing >=1.23 renders", async () => {
    const { helm } = await testenv.tools();
    // What an official helm build reports: the minor of the client-go it was built with.
    const { stdout: buildInfo } = await exec('go', ['version', '-m', helm]);
    const clientGo = /\bk8s\.io\/client-go\s+v0\.(\d+)\.\d+/.exec(buildInfo)?.[1];
    expect(clientGo).toBeDefined();
    const { stdout } = await exec(helm, ['template', fixture('chart-kube-version'), '--name-template', 'kv']);
    expect(stdout).toContain('name: "kv-capabilities"');
    // A plain `go build` of helm says v1.20.0, and this chart refuses to render.
    expect(stdout).toContain(`kubeVersion: "v1.${clientGo}.0"`);
    expect(Number(clientGo)).toBeGreaterThanOrEqual(23);
  });
});
