import { execFile } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The packages as users install them: each one is packed the way it is published (`pnpm pack`, which
 * turns `workspace:*` into real versions), the tarballs are installed into a fresh project outside
 * the workspace (no links back to it; third-party dependencies from the npm registry through a shared
 * cache), and a small reconcile runs on FakeCluster from plain JavaScript and from TypeScript.
 */

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const consumer = fileURLToPath(new URL('../consumer/', import.meta.url));
const PACKAGES = ['core', 'git-source', 's3-source', 'k8s-target'] as const;
/** npm's cache, shared between runs so an install is a copy, not a download. */
const NPM_CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gitops-kit', 'npm-cache');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string, timeout = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function runOk(command: string, args: readonly string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.code}:\n${result.stderr}\n${result.stdout}`,
    );
  }
  return result.stdout;
}

/** The pnpm the workspace pins (`packageManager`), run through npx as the README says. */
async function pnpm(args: readonly string[], cwd: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
    packageManager: string;
  };
  return runOk('npx', ['--yes', manifest.packageManager, ...args], cwd);
}

interface PackedManifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly repository?: { readonly url?: string; readonly directory?: string };
  readonly engines?: { readonly node?: string };
  readonly types?: string;
  readonly files?: readonly string[];
  readonly exports?: Record<string, { readonly types?: string; readonly import?: string }>;
  readonly dependencies?: Record<string, string>;
}

let work: string;
const tarballs = new Map<string, string>();
const timings: Record<string, number> = {};

async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await step();
  } finally {
    timings[label] = Date.now() - started;
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gitops-kit-packaging-'));
  await mkdir(join(work, 'tarballs'));
  // One at a time: each package's prepack rebuilds its dist from a clean folder.
  for (const name of PACKAGES) {
    const out = await timed(`pack ${name}`, () =>
      pnpm(['pack', '--pack-destination', join(work, 'tarballs')], join(repo, 'packages', name)),
    );
    const tarball = out
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line.endsWith('.tgz'));
    if (!tarball) throw new Error(`pnpm pack printed no tarball for ${name}:\n${out}`);
    tarballs.set(name, tarball);
  }
}, 300_000);

afterAll(async () => {
  console.log(`packaging timings (ms): ${JSON.stringify(timings)}`);
  if (work) await rm(work, { recursive: true, force: true });
});

async function entriesOf(tarball: string): Promise<string[]> {
  return (await runOk('tar', ['-tzf', tarball], work)).split('\n').filter(Boolean);
}

async function manifestOf(tarball: string): Promise<PackedManifest> {
  return JSON.parse(await runOk('tar', ['-xzOf', tarball, 'package/package.json'], work)) as PackedManifest;
}

describe('packed packages', () => {
  it('hold only dist (JavaScript, declarations, maps), README, LICENSE and package.json, built from today’s sources', async () => {
    for (const name of PACKAGES) {
      const entries = await entriesOf(tarballs.get(name)!);
      const unexpected = entries.filter(
        (entry) =>
          !/^package\/(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts|js\.map|d\.ts\.map))$/.test(
            entry,
          ),
      );
      expect(unexpected, name).toEqual([]);
      expect(entries, name).toEqual(expect.arrayContaining(['package/README.md', 'package/LICENSE']));
      // No stale output of a deleted or moved source file: every module has its source today.
      for (const entry of entries.filter((e) => e.endsWith('.js'))) {
        const source = join(
          repo,
          'packages',
          name,
          'src',
          entry.replace(/^package\/dist\//, '').replace(/\.js$/, '.ts'),
        );
        await expect(
          lstat(source).then(
            () => true,
            () => false,
          ),
          `${name}: ${entry}`,
        ).resolves.toBe(true);
        expect(entries, `${name}: declarations of ${entry}`).toContain(entry.replace(/\.js$/, '.d.ts'));
      }
    }
  });

  it('declare license, repository, engines, types and an exports map that points into the tarball', async () => {
    const core = await manifestOf(tarballs.get('core')!);
    for (const name of PACKAGES) {
      const tarball = tarballs.get(name)!;
      const manifest = await manifestOf(tarball);
      const entries = new Set(await entriesOf(tarball));
      expect(manifest.name).toBe(`@gitops-kit/${name}`);
      expect(manifest.license).toBe('Apache-2.0');
      expect(manifest.repository).toMatchObject({
        url: expect.stringMatching(/^git\+https:\/\//),
        directory: `packages/${name}`,
      });
      expect(manifest.engines?.node).toMatch(/^>=20/);
      expect(entries).toContain(`package/${manifest.types?.replace(/^\.\//, '')}`);
      for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
        expect(entries, `${name} ${subpath}`).toContain(`package/${target.types?.replace(/^\.\//, '')}`);
        expect(entries, `${name} ${subpath}`).toContain(`package/${target.import?.replace(/^\.\//, '')}`);
      }
      // Workspace links become the real version users will get from the registry.
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
      if (name !== 'core') expect(manifest.dependencies?.['@gitops-kit/core']).toBe(core.version);
    }
    expect(Object.keys(core.exports ?? {}).sort()).toEqual(['.', './conformance', './internal', './testing']);
  });
});

describe('installed from the tarballs into a fresh project', () => {
  let project: string;

  beforeAll(async () => {
    project = join(work, 'consumer');
    await mkdir(project);
    for (const file of ['config.yaml', 'main.mjs', 'main.ts', 'tsconfig.json'])
      await copyFile(join(consumer, file), join(project, file));
    const dependencies = Object.fromEntries(
      PACKAGES.map((name) => [`@gitops-kit/${name}`, `file:${tarballs.get(name)}`]),
    );
    const types = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    await writeFile(
      join(project, 'package.json'),
      `${JSON.stringify(
        {
          name: 'gitops-kit-consumer',
          private: true,
          type: 'module',
          dependencies,
          devDependencies: { '@types/node': types.devDependencies['@types/node'] },
          // The adapters depend on @gitops-kit/core 0.1.0: take it from the tarball, never the registry.
          overrides: { '@gitops-kit/core': '$@gitops-kit/core' },
        },
        null,
        2,
      )}\n`,
    );
    await timed('npm install', () =>
      runOk(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--cache', NPM_CACHE],
        project,
      ),
    );
  }, 300_000);

  it('installs real copies, not links into the workspace', async () => {
    for (const name of PACKAGES) {
      const installed = join(project, 'node_modules', '@gitops-kit', name);
      expect((await lstat(installed)).isSymbolicLink(), name).toBe(false);
      const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as PackedManifest;
      expect(manifest.dependencies?.['@gitops-kit/core'] ?? manifest.version).toBe(manifest.version);
    }
    // Only one core: the adapters share the tarball's copy.
    const nested = await lstat(
      join(project, 'node_modules', '@gitops-kit', 'k8s-target', 'node_modules'),
    ).then(
      () => true,
      () => false,
    );
    if (nested) {
      await expect(
        lstat(
          join(project, 'node_modules', '@gitops-kit', 'k8s-target', 'node_modules', '@gitops-kit', 'core'),
        ),
      ).rejects.toThrow();
    }
  });

  it('reconciles on FakeCluster from plain ESM JavaScript', async () => {
    const out = await timed('node main.mjs', () => runOk(process.execPath, ['main.mjs'], project));
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({
      outcome: 'succeeded',
      writes: 1,
      greeting: 'hello from the installed packages',
      adapters: ['function', 'function', 'function'],
    });
  });

  it('type-checks a strict TypeScript file against the installed declarations, then runs it', async () => {
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    await timed('tsc', () => runOk(process.execPath, [tsc, '-p', 'tsconfig.json'], project));
    // Our own declarations are checked too (skipLibCheck off): no error may come from them. Some
    // third-party declarations (isomorphic-ws, openpgp) do not check on their own; those are theirs.
    const libCheck = await run(
      process.execPath,
      [tsc, '-p', 'tsconfig.json', '--noEmit', '--skipLibCheck', 'false'],
      project,
    );
    const ours = libCheck.stdout
      .split('\n')
      .filter((line) => /^(node_modules\/@gitops-kit\/|main\.ts)/.test(line));
    expect(ours).toEqual([]);
    const out = await runOk(process.execPath, [join('out', 'main.js')], project);
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({
      outcome: 'succeeded',
      writes: 1,
      greeting: 'hello from the installed packages',
      team: 'platform',
      adapters: ['function', 'function', 'function'],
      options: ['https://git.example.com/org/repo.git', 'packaging', 0],
    });
  });

  it('refuses deep imports of files the exports map does not name, and a type error fails the check', async () => {
    const deep = await run(
      process.execPath,
      ['--input-type=module', '-e', "await import('@gitops-kit/core/dist/render/process.js')"],
      project,
    );
    expect(deep.code).not.toBe(0);
    expect(deep.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    // The check is a real one: a wrong option type is an error against the installed types.
    await writeFile(
      join(project, 'wrong.ts'),
      "import { Reconciler } from '@gitops-kit/core';\nnew Reconciler({ name: 1 });\n",
    );
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--types',
        'node',
        'wrong.ts',
      ],
      project,
    );
    expect(checked.code).not.toBe(0);
    expect(checked.stdout).toMatch(/wrong\.ts\(2,\d+\): error TS/);
  });
});
