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
 * Each figure is the median of RUNS runs after one warm-up; the bare binary and the renderer are
 * run alternately so that load from other processes hits both alike. "JS only" replays the
 * binary's captured output through the renderer (a `run` that does not spawn): the renderer's own
 * cost (temporary folder, wrapper, parsing, origins, checks), free of process-start noise.
 * The last line is one JSON object.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type Artifact,
  HelmRenderer,
  KustomizeRenderer,
  RawRenderer,
  type RunFunction,
  type RunResult,
} from '@gitops-kit/core';
import { runProcess } from '@gitops-kit/core/internal';
import { testenv } from '@gitops-kit/testenv';
import { WEBAPP_CHART, writeTree } from '../packages/core/test/fixtures/render/charts.js';

const exec = promisify(execFile);
const RUNS = Number(process.env.RUNS ?? 9);
const signal = new AbortController().signal;

function middle(times: number[]): number {
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 10) / 10;
}

/** Medians of `a` and `b`, run alternately after one warm-up each. */
async function pair(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let start = performance.now();
    await a();
    ta.push(performance.now() - start);
    start = performance.now();
    await b();
    tb.push(performance.now() - start);
  }
  return [middle(ta), middle(tb)];
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return middle(times);
}

/** A run function that answers every call with the first real answer: no process start. */
function replay(): RunFunction {
  let first: Promise<RunResult> | undefined;
  return (request) => {
    first ??= runProcess(request);
    return first;
  };
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

  const jsOnly = (name: string, ms: number): void => {
    results[`${name}.jsOnlyMs`] = ms;
    console.log(`${name.padEnd(34)} JS only (replayed output) ${String(ms).padStart(7)} ms`);
  };
  const kustomizeCase = async (name: string, root: string, path: string | undefined): Promise<void> => {
    const dir = path ? join(root, path) : root;
    const at = path ? { path } : {};
    for (const origins of [true, false]) {
      const label = `${name} (${origins ? 'origins' : 'no origins'})`;
      const renderer = new KustomizeRenderer({ binary: tools.kustomize, origins, ...at });
      const [bare, ours] = await pair(
        () => exec(tools.kustomize, ['build', dir], { maxBuffer }),
        () => renderer.render(artifactAt(root), { signal }),
      );
      row(label, bare, ours);
      const replayed = new KustomizeRenderer({ binary: tools.kustomize, origins, run: replay(), ...at });
      jsOnly(label, await median(() => replayed.render(artifactAt(root), { signal })));
    }
  };
  const helmCase = async (
    name: string,
    root: string,
    path: string | undefined,
    release: string,
  ): Promise<void> => {
    const chartDir = path ? join(root, path) : root;
    const at = path ? { path } : {};
    const renderer = new HelmRenderer({ binary: tools.helm, releaseName: release, ...at });
    const [bare, ours] = await pair(
      () =>
        exec(tools.helm, ['template', release, chartDir, '--include-crds', '--skip-tests'], { maxBuffer }),
      () => renderer.render(artifactAt(root), { signal }),
    );
    row(name, bare, ours);
    const replayed = new HelmRenderer({ binary: tools.helm, releaseName: release, run: replay(), ...at });
    jsOnly(name, await median(() => replayed.render(artifactAt(root), { signal })));
  };

  await kustomizeCase('kustomize overlay', kustomizeFixtures, 'overlays/prod');
  await kustomizeCase('kustomize 1,000 objects', big, undefined);
  await helmCase('helm fixture chart', charts, 'charts/webapp', 'shop');
  await helmCase('helm 1,000 objects', bigChart, undefined, 'big');
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
