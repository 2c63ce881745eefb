import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CredentialsEnvironment, plainCredentials } from '../src/default-credentials.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-kit-creds-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function environment(env: Record<string, string | undefined>, now = () => 0): CredentialsEnvironment {
  return { env, home: join(dir, 'home'), serviceAccountDir: join(dir, 'sa'), now };
}

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'c',
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    clusters: [{ name: 'k', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    users: [{ name: 'u', user }],
  });
}

async function applied(credentials: Awaited<ReturnType<typeof plainCredentials>>): Promise<RequestOptions> {
  const options: RequestOptions = {};
  await credentials?.applyToHTTPSOptions(options);
  return options;
}

describe('default credentials without client-node', () => {
  it('reads a JSON kubeconfig with client certificate data and a CA file next to it', async () => {
    await writeFile(join(dir, 'ca.crt'), 'CA PEM');
    const path = join(dir, 'config');
    await writeFile(
      path,
      kubeconfig(
        {
          'client-certificate-data': Buffer.from('CERT').toString('base64'),
          'client-key-data': Buffer.from('KEY').toString('base64'),
        },
        { 'certificate-authority': 'ca.crt', 'tls-server-name': 'api.local' },
      ),
    );
    const credentials = await plainCredentials(environment({ KUBECONFIG: path }));

    expect(credentials?.getCurrentCluster()).toEqual({ server: 'https://127.0.0.1:6443' });
    const options = await applied(credentials);
    expect(String(options.ca)).toBe('CA PEM');
    expect(String(options.cert)).toBe('CERT');
    expect(String(options.key)).toBe('KEY');
    expect(options.servername).toBe('api.local');
    expect(options.rejectUnauthorized).toBeUndefined();
  });

  it('reads a YAML kubeconfig with a token, and skips TLS verification only when told', async () => {
    const path = join(dir, 'config.yaml');
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'current-context: c',
        'contexts: [{ name: c, context: { cluster: k, user: u } }]',
        'clusters: [{ name: k, cluster: { server: "https://h:1", insecure-skip-tls-verify: true } }]',
        'users: [{ name: u, user: { token: abc } }]',
      ].join('\n'),
    );
    const options = await applied(await plainCredentials(environment({ KUBECONFIG: path })));
    expect(options.headers).toEqual({ Authorization: 'Bearer abc' });
    expect(options.rejectUnauthorized).toBe(false);
  });

  it('reads a token file again after a minute (rotated service-account tokens)', async () => {
    const token = join(dir, 'token');
    await writeFile(token, 'first\n');
    const path = join(dir, 'config');
    await writeFile(path, kubeconfig({ tokenFile: token }));
    let now = 0;
    const credentials = await plainCredentials(environment({ KUBECONFIG: path }, () => now));
    expect((await applied(credentials)).headers).toEqual({ Authorization: 'Bearer first' });
    await writeFile(token, 'second\n');
    now = 30_000;
    expect((await applied(credentials)).headers).toEqual({ Authorization: 'Bearer first' });
    now = 60_000;
    expect((await applied(credentials)).headers).toEqual({ Authorization: 'Bearer second' });
  });

  it('uses the in-cluster service account when there is no kubeconfig', async () => {
    await rm(join(dir, 'sa'), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'sa')));
    await writeFile(join(dir, 'sa', 'token'), 'sa-token');
    await writeFile(join(dir, 'sa', 'ca.crt'), 'SA CA');
    const credentials = await plainCredentials(
      environment({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }),
    );
    expect(credentials?.getCurrentCluster()).toEqual({ server: 'https://10.0.0.1:443' });
    const options = await applied(credentials);
    expect(String(options.ca)).toBe('SA CA');
    expect(options.headers).toEqual({ Authorization: 'Bearer sa-token' });
  });

  it('leaves exec plugins, several files and proxies to client-node', async () => {
    const path = join(dir, 'config');
    await writeFile(
      path,
      kubeconfig({ exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1' } }),
    );
    expect(await plainCredentials(environment({ KUBECONFIG: path }))).toBeUndefined();
    expect(await plainCredentials(environment({ KUBECONFIG: `${path}:${path}` }))).toBeUndefined();
    await writeFile(path, kubeconfig({ token: 't' }, { 'proxy-url': 'http://proxy:3128' }));
    expect(await plainCredentials(environment({ KUBECONFIG: path }))).toBeUndefined();
  });

  it('names the file, never its contents, when it cannot be read', async () => {
    const path = join(dir, 'missing');
    await expect(plainCredentials(environment({ KUBECONFIG: path }))).rejects.toMatchObject({
      code: 'APPLY_INVALID_KUBECONFIG',
      message: expect.stringContaining(path),
    });
    await writeFile(path, '{ not json, token: secret-value');
    const error = await plainCredentials(environment({ KUBECONFIG: path })).catch((e: Error) => e);
    expect((error as Error).message).not.toContain('secret-value');
  });
});
