/**
 * `tsx --tsconfig tsconfig.test.json bench/render.bench.ts`: the overhead of gitops-kit's renderers
 * over the bare binary on the same input.
 *
 *   - kustomize: `kustomize build <dir>` (execFile) versus KustomizeRenderer (wrapper kustomization
 *     for origin annotations, YAML parsing, origin lookup, duplicate check), with and without
 *     origins, on the small overlay fixture and on a generated kustomization of 1,000 objects;
 *   - helm: `helm template` versus HelmRenderer on the fixture chart and on a chart that renders
 *     1,000 objects;
 *   - raw: RawRenderer on 1,000 objects (no binary to compare with: parse cost only).
 *
 * Each figure is the median of RUNS runs after one warm-up. The last line is one JSON object.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Artifact, HelmRenderer, KustomizeRenderer, RawRenderer } from '@gitops-kit/core';
import { testenv } from '@gitops-kit/testenv';
import { WEBAPP_CHART, writeTree } from '../packages/core/test/fixtures/render/charts.js';

const exec = promisify(execFile);
const RUNS = Number(process.env.RUNS ?? 9);
const signal = new AbortController().signal;

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 10) / 10;
}

function artifactAt(dir: string): Artifact {
  return { revision: 'bench', digest: 'sha256:bench', dir, meta: {} };
}

/** 1,000 ConfigMaps in ten files, and (unless `raw`) a kustomization with a namePrefix. */
async function writeLargeKustomization(dir: string, raw = false): Promise<void> {
  const files: string[] = [];
  for (let f = 0; f < 10; f++) {
    const docs: string[] = [];
    for (let i = 0; i < 100; i++) {
      docs.push(
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${f}-${i}\n  labels:\n    app: bench\ndata:\n  key: value-${i}\n  other: "x"\n`,
      );
    }
    await writeFile(join(dir, `f${f}.yaml`), docs.join('---\n'));
    files.push(`f${f}.yaml`);
  }
  if (raw) return;
  await writeFile(
    join(dir, 'kustomization.yaml'),
    `namePrefix: big-\nresources:\n${files.map((f) => `  - ${f}\n`).join('')}`,
  );
}

/** A chart whose one template renders 1,000 ConfigMaps. */
async function writeLargeChart(dir: string): Promise<void> {
  await writeTree(dir, {
    'Chart.yaml': 'apiVersion: v2\nname: big\nversion: 0.1.0\n',
    'values.yaml': 'count: 1000\n',
    'templates/many.yaml': [
      '{{- range $i := until (int .Values.count) }}',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ $.Release.Name }}-{{ $i }}',
      'data:',
      '  key: value-{{ $i }}',
      '{{- end }}',
      '',
    ].join('\n'),
  });
}

const tools = await testenv.tools();
const work = await mkdtemp(join(tmpdir(), 'render-bench-'));
const kustomizeFixtures = fileURLToPath(
  new URL('../packages/core/test/fixtures/render/kustomize', import.meta.url),
);
try {
  const big = join(work, 'big-kustomize');
  await exec('mkdir', ['-p', big]);
  await writeLargeKustomization(big);
  const bigRaw = join(work, 'big-raw');
  await exec('mkdir', ['-p', bigRaw]);
  await writeLargeKustomization(bigRaw, true);
  const charts = join(work, 'charts');
  await writeTree(charts, WEBAPP_CHART);
  const bigChart = join(work, 'big-chart');
  await writeLargeChart(bigChart);

  const results: Record<string, number> = {};
  const row = (name: string, bare: number, ours: number): void => {
    results[`${name}.bareMs`] = bare;
    results[`${name}.rendererMs`] = ours;
    results[`${name}.overheadMs`] = Math.round((ours - bare) * 10) / 10;
    console.log(
      `${name.padEnd(34)} bare ${String(bare).padStart(7)} ms   renderer ${String(ours).padStart(7)} ms   overhead ${String(Math.round((ours - bare) * 10) / 10).padStart(7)} ms`,
    );
  };
  const maxBuffer = 256 * 1024 * 1024;

  // kustomize, small overlay
  {
    const dir = join(kustomizeFixtures, 'overlays/prod');
    const bare = await median(() => exec(tools.kustomize, ['build', dir], { maxBuffer }));
    const withOrigins = new KustomizeRenderer({ binary: tools.kustomize, path: 'overlays/prod' });
    const noOrigins = new KustomizeRenderer({
      binary: tools.kustomize,
      path: 'overlays/prod',
      origins: false,
    });
    row(
      'kustomize overlay (origins)',
      bare,
      await median(() => withOrigins.render(artifactAt(kustomizeFixtures), { signal })),
    );
    row(
      'kustomize overlay (no origins)',
      bare,
      await median(() => noOrigins.render(artifactAt(kustomizeFixtures), { signal })),
    );
  }
  // kustomize, 1,000 objects
  {
    const bare = await median(() => exec(tools.kustomize, ['build', big], { maxBuffer }));
    const withOrigins = new KustomizeRenderer({ binary: tools.kustomize });
    const noOrigins = new KustomizeRenderer({ binary: tools.kustomize, origins: false });
    row(
      'kustomize 1,000 objects (origins)',
      bare,
      await median(() => withOrigins.render(artifactAt(big), { signal })),
    );
    row(
      'kustomize 1,000 objects (no origins)',
      bare,
      await median(() => noOrigins.render(artifactAt(big), { signal })),
    );
  }
  // helm, fixture chart
  {
    const chartDir = join(charts, 'charts/webapp');
    const bare = await median(() =>
      exec(tools.helm, ['template', 'shop', chartDir, '--include-crds', '--skip-tests'], { maxBuffer }),
    );
    const renderer = new HelmRenderer({ binary: tools.helm, path: 'charts/webapp', releaseName: 'shop' });
    row('helm fixture chart', bare, await median(() => renderer.render(artifactAt(charts), { signal })));
  }
  // helm, 1,000 objects
  {
    const bare = await median(() =>
      exec(tools.helm, ['template', 'big', bigChart, '--include-crds', '--skip-tests'], { maxBuffer }),
    );
    const renderer = new HelmRenderer({ binary: tools.helm, releaseName: 'big' });
    row('helm 1,000 objects', bare, await median(() => renderer.render(artifactAt(bigChart), { signal })));
  }
  // raw, 1,000 objects (the same files as the big kustomization)
  {
    const raw = new RawRenderer();
    const ms = await median(() => raw.render(artifactAt(bigRaw), { signal }));
    results['raw 1,000 objects.rendererMs'] = ms;
    console.log(`${'raw 1,000 objects'.padEnd(34)} renderer ${ms} ms (no binary)`);
  }
  console.log(JSON.stringify({ runs: RUNS, versions: tools.versions, ...results }));
} finally {
  await rm(work, { recursive: true, force: true });
}
