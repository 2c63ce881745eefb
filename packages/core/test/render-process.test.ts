import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '@gitops-kit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable, isMissingExecutable, runProcess, scrubbedEnv } from '../src/render/process.js';

// These tests run Node itself as the child process: no render tool is needed.
const node = process.execPath;
let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'run-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('runProcess', () => {
  it('passes arguments without a shell and only the given environment', async () => {
    process.env.GITOPS_KIT_PARENT_SECRET = 'leak?';
    try {
      const result = await runProcess({
        command: node,
        args: [
          '-e',
          'process.stdout.write(JSON.stringify([process.argv.slice(1), process.env]))',
          '$(echo hi); rm -rf /',
        ],
        env: scrubbedEnv(home, { EXTRA: '1' }),
      });
      expect(result.code).toBe(0);
      const [argv, env] = JSON.parse(result.stdout) as [string[], Record<string, string>];
      expect(argv).toEqual(['$(echo hi); rm -rf /']);
      expect(env.GITOPS_KIT_PARENT_SECRET).toBeUndefined();
      expect(env.EXTRA).toBe('1');
      expect(env.HOME).toBe(home);
    } finally {
      delete process.env.GITOPS_KIT_PARENT_SECRET;
    }
  });

  it('reports exit codes and stderr', async () => {
    const result = await runProcess({
      command: node,
      args: ['-e', 'process.stderr.write("bad thing"); process.exit(3)'],
      env: scrubbedEnv(home),
    });
    expect(result).toMatchObject({ code: 3, stderr: 'bad thing', timedOut: false });
  });

  it('kills a tool at its timeout and when its output is too large', async () => {
    const slow = await runProcess({
      command: node,
      args: ['-e', 'setTimeout(() => {}, 60000)'],
      env: scrubbedEnv(home),
      timeoutMs: 200,
    });
    expect(slow.timedOut).toBe(true);
    const loud = await runProcess({
      command: node,
      args: ['-e', 'const s = "x".repeat(65536); const w = () => process.stdout.write(s, w); w()'],
      env: scrubbedEnv(home),
      maxOutputBytes: 1024 * 1024,
    });
    expect(loud.outputLimited).toBe(true);
  });

  it('kills a tool on abort and rejects with the abort error', async () => {
    const controller = new AbortController();
    const running = runProcess({
      command: node,
      args: ['-e', 'setTimeout(() => {}, 60000)'],
      env: scrubbedEnv(home),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toMatchObject({ code: ErrorCodes.Aborted });
    const already = new AbortController();
    already.abort();
    await expect(
      runProcess({ command: node, args: [], env: {}, signal: already.signal }),
    ).rejects.toMatchObject({
      code: ErrorCodes.Aborted,
    });
  });

  it('rejects with ENOENT for a missing executable', async () => {
    const error = await runProcess({ command: join(home, 'nope'), args: [], env: {} }).catch(
      (e: unknown) => e,
    );
    expect(isMissingExecutable(error)).toBe(true);
  });
});

describe('findExecutable', () => {
  it('looks names up on a PATH and checks explicit paths', async () => {
    expect(await findExecutable('node', `/nonexistent:${join(node, '..')}`)).toBe(node);
    expect(await findExecutable('definitely-not-a-tool-xyz', '/usr/bin:/bin')).toBeUndefined();
    expect(await findExecutable(node)).toBe(node);
    expect(await findExecutable(join(home, 'missing'))).toBeUndefined();
  });
});
