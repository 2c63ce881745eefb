/**
 * `pnpm bench:git`: GitSource against `git` on a generated repository served over smart HTTP.
 *
 * The repository: 5,000 files in nested folders, 200 commits, about 50 MB, written with
 * `git fast-import`. Measured in one run, for each engine (isomorphic-git, the default, and the
 * native `git` program): the first clone to an artifact versus `git clone --depth 1` (which
 * includes the checkout); a poll with no change; a fetch of one new commit to a new artifact
 * versus `git fetch` in the shallow clone; and the peak RSS of this process. The spare copy GitSource
 * prepares in the background after a build is awaited, untimed, before the next measurement. The last line is one
 * JSON object with the figures of the engine GitSource recommends for big repositories (native).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type EngineName, GitSource } from '@gitops-kit/git-source';
import { startTestenv } from '@gitops-kit/testenv';

const exec = promisify(execFile);

const FILES = 5_000;
const COMMITS = 200;
const FILE_BYTES = 8_000;
const CHANGED_PER_COMMIT = 10;

const paths = Array.from(
  { length: FILES },
  (_, i) => `team-${i % 10}/app-${Math.floor(i / 10) % 10}/env-${Math.floor(i / 100) % 5}/config-${i}.yaml`,
);

/** A file's content: a YAML comment and incompressible base64, so the pack is realistically large. */
function content(file: number, version: number): string {
  const noise = randomBytes((FILE_BYTES * 3) / 4)
    .toString('base64')
    .replace(/(.{76})/g, '$1\n');
  return `# file ${file} version ${version}\ndata: |\n${noise}\n`;
}

/** Writes commits with `git fast-import` straight into a bare repository. */
async function fastImport(bareDir: string, commits: number, start: number, first: boolean): Promise<void> {
  const child = spawn('git', ['fast-import', '--quiet'], {
    cwd: bareDir,
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const done = new Promise<void>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import exited ${code}`)))),
  );
  const write = (text: string): Promise<void> =>
    new Promise((resolve) => (child.stdin.write(text) ? resolve() : child.stdin.once('drain', resolve)));
  for (let c = start; c < start + commits; c++) {
    const message = `commit ${c}`;
    await write(
      `commit refs/heads/main\ncommitter Bench <bench@example.com> ${1_700_000_000 + c * 60} +0000\n`,
    );
    await write(`data ${Buffer.byteLength(message)}\n${message}\n`);
    if (c === start && !first) await write('from refs/heads/main^0\n');
    const changed =
      first && c === 0
        ? paths.map((_, i) => i)
        : Array.from({ length: CHANGED_PER_COMMIT }, (_, k) => (c * CHANGED_PER_COMMIT + k) % FILES);
    for (const i of changed) {
      const data = content(i, c);
      await write(`M 100644 inline ${paths[i]}\ndata ${Buffer.byteLength(data)}\n${data}\n`);
    }
  }
  child.stdin.end();
  await done;
}

/** Samples this process's RSS so a phase's peak is known. */
class RssPeak {
  #peak = 0;
  readonly #timer = setInterval(() => this.sample(), 5);

  sample(): void {
    this.#peak = Math.max(this.#peak, process.memoryUsage().rss);
  }

  stop(): number {
    clearInterval(this.#timer);
    this.sample();
    return Math.round(this.#peak / (1024 * 1024));
  }
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, (performance.now() - start) / 1000];
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

/** `phase 0.12 s, …`: the time from each progress mark to the next, repeated marks merged. */
function phaseDurations(marks: readonly [string, number][]): string {
  const spans: [string, number][] = [];
  for (let i = 0; i + 1 < marks.length; i++) {
    const [phase, at] = marks[i] as [string, number];
    const span = ((marks[i + 1] as [string, number])[1] - at) / 1000;
    const last = spans[spans.length - 1];
    if (last && last[0] === phase) last[1] += span;
    else spans.push([phase, span]);
  }
  return spans.map(([phase, span]) => `${phase} ${round(span)} s`).join(', ');
}

interface EngineFigures {
  digests: string[];
  cloneS: number;
  pollS: number;
  fetchS: number;
  peakRssMB: number;
  source: GitSource;
}

async function main(): Promise<void> {
  const env = await startTestenv({ git: true, kube: false, s3: false, tools: false });
  const git = env.git;
  if (!git) throw new Error('the git server did not start');
  const work = await mkdtemp(join(tmpdir(), 'gitops-kit-bench-git-'));
  try {
    const repo = await git.createRepo(`bench-${process.pid}`);
    let [, seconds] = await timed(() => fastImport(repo.bareDir, COMMITS, 0, true));
    await exec('git', ['-C', repo.bareDir, 'repack', '-adq']);
    const { stdout: sizeOut } = await exec('du', ['-sm', repo.bareDir]);
    console.log(
      `repository: ${FILES} files, ${COMMITS} commits, ${sizeOut.split('\t')[0]} MB packed (generated in ${round(seconds)} s)`,
    );

    // The git program gets the token the same way GitSource does: a header, through the environment.
    const gitEnv = {
      ...process.env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Bearer ${git.token}`,
    };
    const gitClone = async (dir: string): Promise<void> => {
      await exec('git', ['clone', '--quiet', '--depth', '1', repo.url, dir], { env: gitEnv });
    };
    // Warm the server side (pack reading, page cache) so every contender meets the same server.
    await gitClone(join(work, 'warm-up'));
    let gitCloneS: number;
    [, gitCloneS] = await timed(() => gitClone(join(work, 'git-clone')));

    const figures = new Map<EngineName, EngineFigures>();
    /** Phase marks of the current fetch per engine, to show where the time goes. */
    const marks = new Map<EngineName, [string, number][]>();
    for (const engine of ['native', 'isomorphic-git'] as const) {
      const source = new GitSource({
        url: repo.url,
        ref: { branch: 'main' },
        cacheDir: join(work, `cache-${engine}`),
        auth: { bearerToken: git.token },
        engine,
        onProgress: (progress) => marks.get(engine)?.push([progress.phase, performance.now()]),
      });
      marks.set(engine, [['start', performance.now()]]);
      const rssBeforeMB = Math.round(process.memoryUsage().rss / (1024 * 1024));
      const peak = new RssPeak();
      const [artifact, cloneS] = await timed(() => source.fetch({ signal: AbortSignal.timeout(600_000) }));
      console.log(
        `${engine} clone: ${phaseDurations([...(marks.get(engine) ?? []), ['end', performance.now()]])}`,
      );
      const [again, pollS] = await timed(() =>
        source.fetch({ signal: AbortSignal.timeout(60_000), previous: artifact }),
      );
      if (again !== artifact) throw new Error(`${engine}: a poll without change built a new artifact`);
      // GitSource hard-links a spare copy of the new artifact in the background (for the next
      // build). Let it finish, untimed, so it slows neither the other engine nor `git fetch`.
      const [, spareS] = await timed(() => source.settled());
      console.log(`${engine}: background spare copy finished ${round(spareS)} s after the poll`);
      figures.set(engine, {
        digests: [artifact.digest],
        cloneS,
        pollS,
        fetchS: 0,
        peakRssMB: peak.stop(),
        source,
      });
      console.log(
        `${engine}: first clone to artifact ${round(cloneS)} s, poll ${round(pollS)} s, ${artifact.revision}, ` +
          `RSS ${rssBeforeMB} MB before, peak ${figures.get(engine)?.peakRssMB} MB`,
      );
    }

    // One new commit on the server.
    await fastImport(repo.bareDir, 1, COMMITS, false);
    let gitFetchS: number;
    [, gitFetchS] = await timed(() =>
      exec('git', ['-C', join(work, 'git-clone'), 'fetch', '--quiet', 'origin'], { env: gitEnv }),
    );
    for (const [engine, f] of figures) {
      const peak = new RssPeak();
      marks.set(engine, [['start', performance.now()]]);
      const [artifact, fetchS] = await timed(() => f.source.fetch({ signal: AbortSignal.timeout(600_000) }));
      console.log(`${engine}: ${phaseDurations([...(marks.get(engine) ?? []), ['end', performance.now()]])}`);
      f.fetchS = fetchS;
      await f.source.settled();
      f.digests.push(artifact.digest);
      f.peakRssMB = Math.max(f.peakRssMB, peak.stop());
      console.log(
        `${engine}: fetch of one new commit to a new artifact ${round(fetchS)} s, ${artifact.revision}`,
      );
    }

    // Both engines must have written the same files.
    const [native, iso] = [figures.get('native'), figures.get('isomorphic-git')];
    if (JSON.stringify(native?.digests) !== JSON.stringify(iso?.digests)) {
      throw new Error(`the engines disagree on the artifacts: ${native?.digests} vs ${iso?.digests}`);
    }
    const summary = (engine: EngineName): Record<string, number | string> => {
      const f = figures.get(engine) as EngineFigures;
      return {
        files: FILES,
        cloneS: round(f.cloneS),
        gitCloneS: round(gitCloneS),
        cloneRatio: round(f.cloneS / gitCloneS),
        pollS: round(f.pollS),
        fetchS: round(f.fetchS),
        gitFetchS: round(gitFetchS),
        fetchRatio: round(f.fetchS / gitFetchS),
        peakRssMB: f.peakRssMB,
      };
    };
    console.log(`isomorphic-git engine (default): ${JSON.stringify(summary('isomorphic-git'))}`);
    console.log(`native engine (engine: 'native'):`);
    console.log(JSON.stringify({ ...summary('native'), engine: 'native' }));
    seconds = 0;
  } finally {
    await rm(work, { recursive: true, force: true });
    await env.stop();
  }
}

await main();
