import { existsSync, readFileSync, rmSync } from 'node:fs';
import { startTestenv } from '@gitops-kit/testenv';
import { afterEach, describe, expect, it } from 'vitest';

describe('testenv start-up and shutdown', () => {
  const saved = process.env.TEST_ASSET_ETCD;

  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_ASSET_ETCD;
    else process.env.TEST_ASSET_ETCD = saved;
  });

  it('names the binary, port and log when a server exits during start-up', async () => {
    // A binary that exits at once stands in for an etcd that cannot start.
    process.env.TEST_ASSET_ETCD = '/bin/false';
    const failure = await startTestenv({ kube: true, s3: false, git: false, tools: false }).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(failure).toMatch(
      /etcd \(false, port \d+\) exited during start-up \(exit code 1\); log: \S+etcd\.log/,
    );
    const log = /log: (\S+etcd\.log)/.exec(failure ?? '')?.[1];
    expect(log && existsSync(log)).toBe(true);
    const kept = /work folder kept: (\S+)\)/.exec(failure ?? '')?.[1];
    expect(kept).toBeTruthy();
    rmSync(kept!, { recursive: true, force: true });
  });

  it('removes its work folder on stop', async () => {
    const env = await startTestenv({ kube: false, s3: false, git: true, tools: false });
    const repo = await env.git!.createRepo('stop-check');
    expect(readFileSync(`${repo.bareDir}/HEAD`, 'utf8')).toContain('refs/heads/main');
    await env.stop();
    expect(existsSync(env.info.workDir)).toBe(false);
    await expect(fetch(`${repo.url}/info/refs?service=git-upload-pack`)).rejects.toThrow();
  });
});
