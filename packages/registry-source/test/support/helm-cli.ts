import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Private Helm folders, so the real helm reads none of the user's settings. */
export async function helmHome(dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  return {
    HOME: dir,
    HELM_CACHE_HOME: join(dir, 'cache'),
    HELM_CONFIG_HOME: join(dir, 'config'),
    HELM_DATA_HOME: join(dir, 'data'),
    HELM_REGISTRY_CONFIG: join(dir, 'registry.json'),
    HELM_REPOSITORY_CACHE: join(dir, 'repository'),
    HELM_REPOSITORY_CONFIG: join(dir, 'repositories.yaml'),
  };
}

/** Runs the real helm with those folders; returns stdout. */
export async function helm(binary: string, home: Record<string, string>, args: string[]): Promise<string> {
  const { stdout } = await exec(binary, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...home },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}
