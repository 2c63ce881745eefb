import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getCondition } from '@gitops-kit/core';
import { KubeClient } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLogger, type Observability, startObservability } from '../src/index.js';

const run = promisify(execFile);
const appDir = fileURLToPath(new URL('../app', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The example's app folders, copied with namespaces of their own for this run. */
async function apps(suffix: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'obs-example-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const out: string[] = [];
  for (const app of ['shop', 'blog']) {
    await cp(join(appDir, app), join(dir, app), { recursive: true });
    const file = join(dir, app, `${app}.yaml`);
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll(`obs-${app}`, `obs-${app}-${suffix}`));
    out.push(join(dir, app));
  }
  return out;
}

describe('examples/observability on the living cluster', () => {
  it('runs reconcilers with metrics, Kubernetes Events and logs, and serves the URL it prints', async () => {
    const kube = await testenv.kube();
    const admin = KubeClient.fromKubeConfig(kube.kubeConfig());
    const suffix = randomBytes(3).toString('hex');
    const stateNamespace = `obs-state-${suffix}`;
    await admin.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: stateNamespace } },
    });
    const lines: string[] = [];
    const program: Observability = await startObservability({
      kubeConfig: kube.kubeConfig(),
      apps: await apps(suffix),
      stateNamespace,
      logger: jsonLogger({ write: (line) => lines.push(line) }),
    });
    cleanups.push(() => program.stop());
    expect(program.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const ready = (name: string): boolean =>
      getCondition(program.manager.statuses()[name] ?? program.manager.get(name)!.status, 'Ready')?.status ===
      'True';
    const deadline = Date.now() + 60_000;
    while (!(ready('shop') && ready('blog')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    expect(ready('shop') && ready('blog')).toBe(true);

    const text = await (await fetch(program.url)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('gotk_reconcile_condition{') &&
          l.includes('name="shop"') &&
          l.includes('type="Ready",status="True"'),
      );
    expect(line).toContain(`namespace="${stateNamespace}"`);
    expect(line?.endsWith(' 1')).toBe(true);
    expect(text).toMatch(
      /gitops_kit_kubernetes_requests_total\{target="observability",verb="apply",code="200"\} \d+/,
    );
    expect(text).toMatch(/gitops_kit_stage_duration_seconds_count\{[^}]*name="shop"[^}]*stage="health"\} 1/);

    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      records.some((r) => r.reconciler === 'shop' && r.stage === 'apply' && typeof r.revision === 'string'),
    ).toBe(true);

    // kubectl shows the audit trail, regarding the state objects.
    await program.target.events?.flush();
    const tools = await testenv.tools();
    const { stdout } = await run(
      tools.kubectl,
      ['--kubeconfig', kube.kubeconfigPath, 'get', 'events', '-n', stateNamespace],
      {
        env: { ...process.env, KUBECACHEDIR: join(tmpdir(), `kubectl-cache-${suffix}`) },
      },
    );
    expect(stdout).toContain('Applied');
    expect(stdout).toContain('configmap/gitops-kit-shop');
    expect(stdout).toContain('configmap/gitops-kit-blog');
  });
});
