import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SourceError } from '@gitops-kit/core';
import { type EngineName, GitErrorCodes, type GitProgress, GitSource } from '@gitops-kit/git-source';
import { testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir, WorkClone } from './support/helpers.js';

const exec = promisify(execFile);

let server: Server;
let httpsUrl: string;
let caCert: string;
let token: string;

/** An HTTPS front for the test Git server, with a certificate from a CA of its own. */
beforeAll(async () => {
  const git = await testenv.git();
  token = git.token;
  const { url } = await git.createRepo(`gs-tls-${process.pid}`);
  const work = await WorkClone.create(url, git.username, git.password);
  await work.write('a.yaml', 'a: 1\n');
  await work.commit('over tls');
  await work.push('main');

  const dir = await tempDir('tls');
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ]);
  caCert = await readFile(join(dir, 'cert.pem'), 'utf8');
  const upstream = new URL(url);
  server = createServer({ key: await readFile(join(dir, 'key.pem')), cert: caCert }, (req, res) => {
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  httpsUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}`;
});

afterAll(async () => {
  await removeTempDirs();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe.each<EngineName>(['isomorphic-git', 'native'])('GitSource over HTTPS (%s engine)', (engine) => {
  it('trusts a custom CA, refuses an unknown certificate, and reports progress', async () => {
    const progress: GitProgress[] = [];
    const trusted = new GitSource({
      url: httpsUrl,
      cacheDir: await tempDir('tls-cache'),
      auth: { bearerToken: token, caCert },
      engine,
      onProgress: (p) => progress.push(p),
    });
    const artifact = await trusted.fetch({ signal: new AbortController().signal });
    expect(artifact.revision).toMatch(/^main@sha1:[0-9a-f]{40}$/);
    expect(await readFile(join(artifact.dir, 'a.yaml'), 'utf8')).toBe('a: 1\n');
    expect(progress.map((p) => p.phase)).toEqual(
      expect.arrayContaining(['listing refs', 'fetching', 'writing files', 'done']),
    );

    const untrusted = new GitSource({
      url: httpsUrl,
      cacheDir: await tempDir('tls-cache'),
      auth: { bearerToken: token },
      engine,
    });
    const error = await untrusted.fetch({ signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe(GitErrorCodes.FetchFailed);
    expect((error as SourceError).message).not.toContain(token);
  });
});
