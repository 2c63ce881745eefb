import { spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { run } from './process.js';

/** Connection facts of the Git smart-HTTP server, plain data so it can cross to test workers. */
export interface GitInfo {
  /** e.g. `http://127.0.0.1:40555`; a repository `x` is at `${baseUrl}/x.git`. */
  baseUrl: string;
  /** Basic-auth credentials generated for this run. */
  username: string;
  password: string;
  /** Bearer token (`Authorization: Bearer <token>`); also accepted as a basic-auth password. */
  token: string;
  /** Version of the git that serves the repositories (`git http-backend`). */
  version: string;
  /** Folder holding the bare repositories. */
  reposDir: string;
}

/** A running Git server. */
export interface RunningGit {
  /** Connection facts. */
  info: GitInfo;
  /** Closes the server. */
  stop(): Promise<void>;
}

/** Options of {@link createRepo}. */
export interface CreateRepoOptions {
  /** Anyone may clone and fetch without credentials (pushing always needs them). Default false. */
  public?: boolean;
  /** Initial branch name. Default `main`. */
  defaultBranch?: string;
}

/** A bare repository on the test server. */
export interface TestRepo {
  /** Clone URL without credentials. */
  url: string;
  /** Path of the bare repository on disk. */
  bareDir: string;
}

// Marker file in a bare repository that lets anonymous clients read it.
const PUBLIC_MARKER = 'gitops-kit-public';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** Creates an empty bare repository that the server serves, and returns its URL. */
export async function createRepo(
  info: GitInfo,
  name: string,
  options: CreateRepoOptions = {},
): Promise<TestRepo> {
  const base = name.endsWith('.git') ? name.slice(0, -4) : name;
  if (!NAME.test(base) || base.includes('..'))
    throw new Error(`testenv: invalid repository name ${JSON.stringify(name)}`);
  const bareDir = join(info.reposDir, `${base}.git`);
  if (existsSync(bareDir)) throw new Error(`testenv: repository ${base} already exists`);
  await mkdir(bareDir, { recursive: true });
  await run('git', [
    'init',
    '--quiet',
    '--bare',
    `--initial-branch=${options.defaultBranch ?? 'main'}`,
    bareDir,
  ]);
  if (options.public) await writeFile(join(bareDir, PUBLIC_MARKER), '');
  return { url: `${info.baseUrl}/${base}.git`, bareDir };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The authenticated user of a request, or undefined when it has no valid credentials. */
function authenticate(req: IncomingMessage, info: GitInfo): string | undefined {
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer?.[1]) return sameSecret(bearer[1].trim(), info.token) ? 'token' : undefined;
  const basic = /^Basic\s+(.+)$/i.exec(header);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    if (colon < 0) return undefined;
    if (sameSecret(user, info.username) && sameSecret(secret, info.password)) return user;
    // Like hosted Git services: any user name with the token as password.
    if (user && sameSecret(secret, info.token)) return user;
  }
  return undefined;
}

function deny(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain',
    ...(status === 401 ? { 'www-authenticate': 'Basic realm="gitops-kit testenv"' } : {}),
  });
  res.end(`${message}\n`);
}

/** Serves one request through `git http-backend` (CGI), after the access check. */
function handle(req: IncomingMessage, res: ServerResponse, info: GitInfo): void {
  const url = new URL(req.url ?? '/', 'http://testenv');
  const path = decodeURIComponent(url.pathname);
  const repo = /^\/(.+?\.git)(\/|$)/.exec(path)?.[1];
  if (!repo || repo.includes('..') || !existsSync(join(info.reposDir, repo, 'HEAD'))) {
    deny(res, 404, 'repository not found');
    return;
  }
  const isPush = url.searchParams.get('service') === 'git-receive-pack' || path.endsWith('/git-receive-pack');
  const user = authenticate(req, info);
  if (!user) {
    const anonymousRead = !isPush && existsSync(join(info.reposDir, repo, PUBLIC_MARKER));
    if (!anonymousRead) {
      deny(res, 401, 'authentication required');
      return;
    }
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: info.reposDir,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: path,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    // http-backend enables receive-pack only for an authenticated REMOTE_USER.
    ...(user ? { REMOTE_USER: user, AUTH_TYPE: 'Basic' } : {}),
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => {});
  let stderr = '';
  cgi.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let head = Buffer.alloc(0);
  let headersSent = false;
  // Read the CGI header block, then stream the body with backpressure (packs can be large).
  const readHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const end = crlf >= 0 ? crlf : head.indexOf('\n\n');
    if (end < 0) return;
    cgi.stdout.off('data', readHead);
    cgi.stdout.pause();
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('utf8').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'status') status = Number.parseInt(value, 10) || 200;
      else headers[key] = value;
    }
    res.writeHead(status, headers);
    headersSent = true;
    const rest = head.subarray(end + (crlf >= 0 ? 4 : 2));
    if (rest.length > 0) res.write(rest);
    cgi.stdout.pipe(res);
  };
  cgi.stdout.on('data', readHead);
  cgi.on('close', (code) => {
    if (!headersSent) deny(res, 500, `git http-backend failed (exit ${code}): ${stderr.trim()}`);
  });
  cgi.on('error', (error) => {
    if (!headersSent) deny(res, 500, `git http-backend could not start: ${error.message}`);
  });
  req.on('aborted', () => cgi.kill('SIGKILL'));
}

/**
 * Starts a smart-HTTP Git server on a free loopback port: a small Node HTTP server in front
 * of `git http-backend`, with basic and bearer-token auth, serving bare repositories from
 * `dir/repos`. Push needs credentials; fetch needs them unless the repository is public.
 */
export async function startGit(dir: string): Promise<RunningGit> {
  const reposDir = join(dir, 'repos');
  await mkdir(reposDir, { recursive: true });
  const version = (await run('git', ['--version'])).trim().replace(/^git version\s+/, '');
  const info: GitInfo = {
    baseUrl: '',
    username: 'testenv',
    password: randomBytes(12).toString('base64url'),
    token: randomBytes(24).toString('base64url'),
    version,
    reposDir,
  };
  const server: Server = createServer((req, res) => {
    try {
      handle(req, res, info);
    } catch (error) {
      deny(res, 500, error instanceof Error ? error.message : String(error));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`testenv: git HTTP server could not listen: ${error.message}`)),
    );
    server.listen(0, '127.0.0.1', () => resolve());
  });
  info.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The server must not keep a tsx process alive after its work is done.
  server.unref();
  return {
    info,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
