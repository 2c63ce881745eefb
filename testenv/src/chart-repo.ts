import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { findAsset } from './assets.js';
import { run } from './process.js';
import { makeServingPki } from './serving-pki.js';

/** Options of {@link startChartRepository}. */
export interface ChartRepositoryOptions {
  /** Require credentials (basic auth with `username`/`password`, or `Authorization: Bearer <token>`). Default false. */
  auth?: boolean;
  /** Serve HTTPS with a certificate of a fresh CA (`ca` holds its PEM). Default false. */
  tls?: boolean;
}

/** One request the repository answered, for tests that count requests. */
export interface ChartRepositoryRequest {
  method: string;
  path: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
}

/**
 * A real Helm chart repository: a folder of packaged charts and an `index.yaml` written by the
 * real `helm repo index`, served by a Node HTTP(S) server of this process (static files with
 * strong ETags and `If-None-Match`, as GitHub Pages, S3 or ChartMuseum answer).
 */
export interface ChartRepository {
  /** `http(s)://127.0.0.1:<port>/charts`. */
  url: string;
  /** The folder served. */
  dir: string;
  /** Basic-auth user and password, and a bearer token (checked only with `auth`). */
  username: string;
  password: string;
  token: string;
  /** The CA certificate (PEM) of the HTTPS server, with `tls`. */
  ca?: string;
  /** Every request answered, oldest first. */
  requests: ChartRepositoryRequest[];
  /** Packages a chart folder with `helm package` into the repository and re-indexes it with `helm repo index`. */
  publish(chartDir: string): Promise<string>;
  /** Writes `index.yaml` again with `helm repo index` (after files were changed by hand). */
  reindex(): Promise<void>;
  /** Stops answering (connections refused) until {@link start}; the files stay. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Stops and removes the folder. */
  close(): Promise<void>;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Helm's folders under `home`, private to one user of helm, so no user configuration is read. */
export function helmEnv(home: string): Record<string, string> {
  return {
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    HELM_REGISTRY_CONFIG: join(home, 'registry.json'),
    HELM_REPOSITORY_CACHE: join(home, 'repository'),
    HELM_REPOSITORY_CONFIG: join(home, 'repositories.yaml'),
  };
}

/**
 * Starts a chart repository in this process (not through the control server, so a test can stop
 * it and see what a client does offline). The helm binary is testenv's.
 */
export async function startChartRepository(options: ChartRepositoryOptions = {}): Promise<ChartRepository> {
  const root = await mkdtemp(join(tmpdir(), 'gitops-kit-charts-'));
  const dir = join(root, 'charts');
  const home = join(root, 'helm');
  await mkdir(dir, { recursive: true });
  await mkdir(home, { recursive: true });
  const helm = findAsset('helm');
  const pki = options.tls ? await makeServingPki(join(root, 'pki'), 'gitops-kit-charts') : undefined;
  const tls = pki
    ? {
        ca: await readFile(pki.caCert, 'utf8'),
        cert: await readFile(pki.cert, 'utf8'),
        key: await readFile(pki.key, 'utf8'),
      }
    : undefined;
  const requests: ChartRepositoryRequest[] = [];
  const username = 'charts';
  const password = randomBytes(12).toString('base64url');
  const token = randomBytes(24).toString('base64url');

  const authorized = (req: IncomingMessage): boolean => {
    if (!options.auth) return true;
    const header = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(header);
    if (bearer?.[1]) return sameSecret(bearer[1].trim(), token);
    const basic = /^Basic\s+(.+)$/i.exec(header);
    if (!basic?.[1]) return false;
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (
      colon > 0 &&
      sameSecret(decoded.slice(0, colon), username) &&
      sameSecret(decoded.slice(colon + 1), password)
    );
  };

  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: Buffer | string,
    headers: Record<string, string> = {},
  ): void => {
    const bytes = req.method === 'HEAD' || status === 304 ? 0 : Buffer.byteLength(body);
    requests.push({
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      status,
      bytes,
    });
    res.writeHead(status, headers);
    res.end(bytes === 0 ? undefined : body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://charts').pathname);
    if (!authorized(req)) {
      answer(req, res, 401, 'authentication required\n', { 'www-authenticate': 'Basic realm="charts"' });
      return;
    }
    const rel = normalize(path).replace(/^\/+/, '');
    if (!rel.startsWith('charts/') || rel.includes('..')) {
      answer(req, res, 404, 'not found\n');
      return;
    }
    const file = join(root, rel);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      answer(req, res, 404, 'not found\n');
      return;
    }
    const body = await readFile(file);
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    const type = rel.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip';
    const headers = { etag, 'content-type': type, 'last-modified': info.mtime.toUTCString() };
    if (req.headers['if-none-match'] === etag) {
      answer(req, res, 304, '', headers);
      return;
    }
    answer(req, res, 200, body, headers);
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => answer(req, res, 500, String(error)));
  };
  let server: Server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener)
    : createHttpServer(listener);
  let port = 0;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        server.unref();
        resolve();
      });
    });
  await listen();
  const halt = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  const reindex = async (): Promise<void> => {
    await run(helm, ['repo', 'index', dir], { env: helmEnv(home) });
  };
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/charts`,
    dir,
    username,
    password,
    token,
    ...(tls ? { ca: tls.ca } : {}),
    requests,
    async publish(chartDir: string): Promise<string> {
      const out = await run(helm, ['package', chartDir, '--destination', dir], { env: helmEnv(home) });
      await reindex();
      return out.trim().replace(/^.*saved it to: /s, '');
    },
    reindex,
    stop: halt,
    async start(): Promise<void> {
      server = tls
        ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener)
        : createHttpServer(listener);
      await listen();
    },
    async close(): Promise<void> {
      await halt();
      await rm(root, { recursive: true, force: true });
    },
  };
}
