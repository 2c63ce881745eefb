import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type StartOptions, startTestenv, type Testenv, type TestenvInfo } from './env.js';
import type { ControlInfo } from './provided.js';
import { findTools, type ToolsInfo } from './tools.js';

/**
 * A server that the control server can start; `kube-bare` is the apiserver without controllers,
 * `registry` the OCI registry with TLS and basic auth, `registry-plain` one over plain HTTP without auth.
 */
export type ServerName = 'kube' | 'kube-bare' | 's3' | 'git' | 'registry' | 'registry-plain';

/** Every {@link ServerName}. */
export const SERVER_NAMES: readonly ServerName[] = [
  'kube',
  'kube-bare',
  's3',
  'git',
  'registry',
  'registry-plain',
];

/** The {@link startTestenv} options that start one server. */
export function startOptionsOf(name: ServerName): StartOptions {
  return {
    kube: name === 'kube' ? true : name === 'kube-bare' ? { bare: true } : false,
    s3: name === 's3',
    git: name === 'git',
    registry: name === 'registry' ? true : name === 'registry-plain' ? { tls: false, auth: false } : false,
    tools: false,
  };
}

/** The global setup's control server: starts each test server once, when a worker first asks. */
export interface ControlServer {
  /** What workers need to reach it. */
  info: ControlInfo;
  /** Starts a server now (used for GITOPS_KIT_TESTENV); resolves when it is ready. */
  ensure(name: ServerName): Promise<Testenv>;
  /** Stops every server it started, then itself. */
  stop(): Promise<void>;
}

const seconds = (ms: number | undefined): string => `${((ms ?? 0) / 1000).toFixed(1)} s`;

function describeStart(name: ServerName, info: TestenvInfo): string {
  if ((name === 'kube' || name === 'kube-bare') && info.kube) {
    const k = info.kube;
    if (k.existingCluster) return `existing cluster ${k.server} (${k.version})`;
    const s = k.startup;
    const base = `kube-apiserver ${k.version} (${seconds(s?.apiserverMs)}) + etcd ${k.etcdVersion} (${seconds(s?.etcdMs)})`;
    const living = k.living
      ? ` + kube-controller-manager (${seconds(s?.controllerManagerMs)}), kube-scheduler (${seconds(
          s?.schedulerMs,
        )}), kwok ${k.kwokVersion} with ${k.nodes.length} Nodes (${seconds(s?.kwokMs)})`
      : ' (bare: no controllers)';
    return `${base}${living} ready in ${seconds(k.startupMs)}`;
  }
  if (name === 's3' && info.s3) return `minio ${info.s3.version} at ${info.s3.endpoint}`;
  if (name === 'git' && info.git) return `git ${info.git.version} http-backend at ${info.git.baseUrl}`;
  if (info.registry) return `registry ${info.registry.version} at ${info.registry.url}`;
  return name;
}

/**
 * Starts the control server on a free loopback port. Workers call `POST /servers/<name>` to get
 * a server's connection facts (starting it on first use) and `GET /tools` for the tools.
 */
export async function startControlServer(log: (line: string) => void): Promise<ControlServer> {
  const token = randomBytes(24).toString('base64url');
  const envs = new Map<ServerName, Promise<Testenv>>();
  let tools: Promise<ToolsInfo> | undefined;

  const ensure = (name: ServerName): Promise<Testenv> => {
    let env = envs.get(name);
    if (!env) {
      const started = Date.now();
      env = startTestenv(startOptionsOf(name));
      env.then(
        (e) =>
          log(`${describeStart(name, e.info)} (started in ${((Date.now() - started) / 1000).toFixed(1)} s)`),
        (error: unknown) =>
          log(`${name} failed to start: ${error instanceof Error ? error.message : String(error)}`),
      );
      // A failed start is remembered: every test that needs it gets the same error at once.
      envs.set(name, env);
    }
    return env;
  };

  const expected = Buffer.from(`Bearer ${token}`);
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      reply(401, { error: 'testenv control: bad token' });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://control').pathname;
    const serverName = /^\/servers\/([a-z0-9-]+)$/.exec(path)?.[1] as ServerName | undefined;
    let result: Promise<unknown>;
    if (serverName && SERVER_NAMES.includes(serverName)) {
      result = ensure(serverName).then((env) => env.info);
    } else if (path === '/tools') {
      tools ??= findTools();
      result = tools;
    } else {
      reply(404, { error: `testenv control: no route ${path}` });
      return;
    }
    result.then(
      (body) => reply(200, body),
      (error: unknown) => reply(500, { error: error instanceof Error ? error.message : String(error) }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    info: { url: `http://127.0.0.1:${port}`, token },
    ensure,
    async stop() {
      await Promise.allSettled(
        [...envs.values()].map(async (env) => {
          await (await env).stop();
        }),
      );
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Asks the control server for a route's JSON; its errors become exceptions with the server's message. */
export async function askControl<T>(control: ControlInfo, path: string): Promise<T> {
  const res = await fetch(`${control.url}${path}`, {
    method: path.startsWith('/servers/') ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${control.token}` },
  });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `testenv control: HTTP ${res.status} on ${path}`);
  return body;
}
