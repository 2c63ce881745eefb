import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testenv } from '@gitops-kit/testenv';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
// What git prints when the server answers 401: with no credentials it would prompt (disabled here).
const DENIED = /Authentication failed|could not read Username|401/;

describe('testenv git', () => {
  let home: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'testenv-git-smoke-'));
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  /** Runs the git CLI isolated from the user's config, never prompting for credentials. */
  async function gitCli(args: string[], cwd = home): Promise<string> {
    const { stdout } = await execFileAsync('git', args, {
      cwd,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: 'Smoke',
        GIT_AUTHOR_EMAIL: 'smoke@example.invalid',
        GIT_COMMITTER_NAME: 'Smoke',
        GIT_COMMITTER_EMAIL: 'smoke@example.invalid',
      },
    });
    return stdout;
  }

  function withBasicAuth(url: string, username: string, password: string): string {
    const u = new URL(url);
    u.username = encodeURIComponent(username);
    u.password = encodeURIComponent(password);
    return u.toString();
  }

  /** A local repository with one commit on main; returns its commit id. */
  async function makeWorkTree(name: string, content: string): Promise<{ dir: string; commit: string }> {
    const dir = join(home, name);
    await gitCli(['init', '--quiet', '--initial-branch=main', dir]);
    await writeFile(join(dir, 'app.yaml'), content);
    await gitCli(['add', 'app.yaml'], dir);
    await gitCli(['commit', '--quiet', '-m', 'first'], dir);
    return { dir, commit: (await gitCli(['rev-parse', 'HEAD'], dir)).trim() };
  }

  it('reports the version of git that serves', async () => {
    expect((await testenv.git()).version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('pushes with basic auth and clones with a bearer token', async () => {
    const server = await testenv.git();
    const repo = await server.createRepo('private-app');
    const work = await makeWorkTree('private-work', 'kind: ConfigMap\n');
    await gitCli(
      ['push', '--quiet', withBasicAuth(repo.url, server.username, server.password), 'main'],
      work.dir,
    );
    expect((await gitCli(['rev-parse', 'main'], repo.bareDir)).trim()).toBe(work.commit);

    const clone = join(home, 'private-clone');
    await gitCli([
      '-c',
      `http.extraHeader=Authorization: Bearer ${server.token}`,
      'clone',
      '--quiet',
      repo.url,
      clone,
    ]);
    expect(await readFile(join(clone, 'app.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
    expect((await gitCli(['rev-parse', 'HEAD'], clone)).trim()).toBe(work.commit);
  });

  it('streams a large pack both ways intact', async () => {
    const server = await testenv.git();
    const repo = await server.createRepo('large-app');
    const work = await makeWorkTree('large-work', 'small\n');
    // Random bytes do not compress: the pack is as large as the file.
    const blob = randomBytes(6 * 1024 * 1024);
    await writeFile(join(work.dir, 'blob.bin'), blob);
    await gitCli(['add', 'blob.bin'], work.dir);
    await gitCli(['commit', '--quiet', '-m', 'large'], work.dir);
    await gitCli(
      ['push', '--quiet', withBasicAuth(repo.url, server.username, server.password), 'main'],
      work.dir,
    );
    const clone = join(home, 'large-clone');
    await gitCli(['clone', '--quiet', withBasicAuth(repo.url, server.username, server.password), clone]);
    expect((await readFile(join(clone, 'blob.bin'))).equals(blob)).toBe(true);
  });

  it('refuses a private repository without or with wrong credentials', async () => {
    const server = await testenv.git();
    const repo = await server.createRepo('private-denied');
    const work = await makeWorkTree('denied-work', 'x\n');
    await expect(gitCli(['push', '--quiet', repo.url, 'main'], work.dir)).rejects.toThrow(DENIED);
    await expect(gitCli(['clone', '--quiet', repo.url, join(home, 'denied-clone')])).rejects.toThrow(DENIED);
    await expect(
      gitCli([
        'clone',
        '--quiet',
        withBasicAuth(repo.url, server.username, 'wrong'),
        join(home, 'denied-clone2'),
      ]),
    ).rejects.toThrow(DENIED);
  });

  it('clones a public repository without credentials but still needs them to push', async () => {
    const server = await testenv.git();
    const repo = await server.createRepo('public-app', { public: true });
    const work = await makeWorkTree('public-work', 'public: true\n');
    await expect(gitCli(['push', '--quiet', repo.url, 'main'], work.dir)).rejects.toThrow(DENIED);
    await gitCli(['push', '--quiet', withBasicAuth(repo.url, 'anyone', server.token), 'main'], work.dir);
    const clone = join(home, 'public-clone');
    await gitCli(['clone', '--quiet', repo.url, clone]);
    expect(await readFile(join(clone, 'app.yaml'), 'utf8')).toBe('public: true\n');
  });

  it('serves isomorphic-git clones and pushes (the SDK git client)', async () => {
    const server = await testenv.git();
    const repo = await server.createRepo('iso-app');
    const work = await makeWorkTree('iso-work', 'iso: 1\n');
    const headers = { Authorization: `Bearer ${server.token}` };
    await git.push({ fs, http, dir: work.dir, url: repo.url, ref: 'main', headers });
    const dir = join(home, 'iso-clone');
    await git.clone({ fs, http, dir, url: repo.url, ref: 'main', singleBranch: true, headers });
    expect(await git.resolveRef({ fs, dir, ref: 'HEAD' })).toBe(work.commit);
    expect(await readFile(join(dir, 'app.yaml'), 'utf8')).toBe('iso: 1\n');
    await expect(git.clone({ fs, http, dir: join(home, 'iso-denied'), url: repo.url })).rejects.toMatchObject(
      {
        data: { statusCode: 401 },
      },
    );
  });
});
