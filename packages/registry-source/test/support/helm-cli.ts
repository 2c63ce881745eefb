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

/** Where and how to push: testenv's registry facts. */
export interface PushTarget {
  host: string;
  plainHttp: boolean;
  caFile?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/**
 * Packages a chart folder and pushes it with the real `helm push` to `oci://<host>/<path>`;
 * returns the manifest digest helm printed.
 */
export async function pushChart(
  binary: string,
  home: Record<string, string>,
  chartDir: string,
  registry: PushTarget,
  path: string,
): Promise<string> {
  const out = join(home.HOME ?? '.', 'packaged');
  await mkdir(out, { recursive: true });
  const packaged = (await helm(binary, home, ['package', chartDir, '--destination', out]))
    .trim()
    .replace(/^.*saved it to: /s, '');
  const tls = registry.plainHttp ? ['--plain-http'] : registry.caFile ? ['--ca-file', registry.caFile] : [];
  if (registry.username && registry.password) {
    await helm(binary, home, [
      'registry',
      'login',
      registry.host,
      '--username',
      registry.username,
      '--password',
      registry.password,
      ...tls,
    ]);
  }
  const { stdout, stderr } = await exec(
    binary,
    ['push', packaged, `oci://${registry.host}/${path}`, ...tls],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...home },
    },
  );
  const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(`${stdout}\n${stderr}`)?.[1];
  if (!digest) throw new Error(`helm push printed no digest: ${stdout}${stderr}`);
  return digest;
}
