import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findAsset } from './assets.js';
import { freePort, run, startProcess, waitReady } from './process.js';

/**
 * A real Prometheus (built from the Go module proxy by provision.sh, without its UI assets and
 * with `remove_all_sd`: only static targets), started by the test that needs it: its own config
 * with a 1 s scrape of the given URLs, a random port and its own data folder.
 */

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** URLs to scrape, such as `http://127.0.0.1:40123/metrics` (one job, `gitops-kit`). */
  readonly targets: readonly string[];
  /** Scrape interval in seconds (default 1). */
  readonly scrapeIntervalSeconds?: number;
}

/** One sample of an instant query's result. */
export interface PromSample {
  readonly metric: Record<string, string>;
  /** The value as Prometheus writes it (`"1"`, `"NaN"`, `"0.25"`). */
  readonly value: string;
}

/** A running Prometheus. */
export interface RunningPrometheus {
  /** e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The version it reports. */
  readonly version: string;
  /** Runs an instant query over the HTTP API; throws with Prometheus' error for a bad query. */
  query(promql: string): Promise<PromSample[]>;
  /** Polls `query` until `accept` is true of its result (default 30 s); returns that result. */
  waitFor(
    promql: string,
    accept: (samples: PromSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<PromSample[]>;
  /** Health of the scrape targets (`up` per target). */
  targetsUp(): Promise<boolean>;
  /** Stops it and removes its data folder. */
  stop(): Promise<void>;
}

/** The config file: one static job scraping every target each second. */
function configFor(targets: readonly string[], interval: number): string {
  const jobs = targets.map((target, i) => {
    const url = new URL(target);
    return [
      `  - job_name: gitops-kit-${i}`,
      `    scrape_interval: ${interval}s`,
      `    scrape_timeout: ${interval}s`,
      `    metrics_path: ${JSON.stringify(url.pathname || '/metrics')}`,
      `    scheme: ${url.protocol.replace(':', '')}`,
      '    static_configs:',
      `      - targets: [${JSON.stringify(url.host)}]`,
    ].join('\n');
  });
  return [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  evaluation_interval: ${interval}s`,
    'scrape_configs:',
    ...jobs,
    '',
  ].join('\n');
}

/** Starts Prometheus scraping `targets`; resolves once it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const binary = findAsset('prometheus');
  const dir = await mkdtemp(join(tmpdir(), 'testenv-prometheus-'));
  const configPath = join(dir, 'prometheus.yml');
  await writeFile(configPath, configFor(options.targets, options.scrapeIntervalSeconds ?? 1));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess({
    name: 'prometheus',
    binary,
    logPath: join(dir, 'prometheus.log'),
    args: [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    cwd: dir,
  });
  const stop = async (): Promise<void> => {
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(proc, { binary, port }, async () => {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      return res.ok;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const version = /version (\S+)/.exec(await run(binary, ['--version']))?.[1] ?? 'unknown';
  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: promql }),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: {
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[] | [number, string];
      };
    };
    if (body.status !== 'success')
      throw new Error(`Prometheus refused ${promql}: ${body.error ?? res.status}`);
    const result = body.data?.result ?? [];
    if (body.data?.resultType === 'scalar')
      return [{ metric: {}, value: String((result as [number, string])[1]) }];
    return (result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric,
      value: r.value[1],
    }));
  };
  return {
    url,
    version,
    query,
    async waitFor(promql, accept, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: PromSample[] = [];
      while (Date.now() < deadline) {
        last = await query(promql);
        if (accept(last)) return last;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(
        `Prometheus: ${promql} did not match within ${timeoutMs} ms; last result ${JSON.stringify(last)}`,
      );
    },
    async targetsUp() {
      const up = await query('up');
      return up.length === options.targets.length && up.every((s) => s.value === '1');
    },
    stop,
  };
}
