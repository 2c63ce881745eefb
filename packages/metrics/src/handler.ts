import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { MetricsError, MetricsErrorCodes } from './errors.js';

/**
 * A request handler for Node's `http` that answers `GET /metrics` (and `HEAD`) with the
 * registry's text exposition; other methods get 405. Mount it on any path of your own server:
 * `createServer(metricsHandler(registry))`, or inside a router for the `/metrics` path. For other
 * frameworks, answer with `await registry.metrics()` and the `registry.contentType` header.
 */
export function metricsHandler(
  registry: Registry,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'Content-Type': registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'Content-Type': 'text/plain' });
        response.end(`metrics collection failed: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
  };
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** The registry to expose. */
  readonly registry: Registry;
  /** Port to listen on (default 0: any free port). */
  readonly port?: number;
  /** Address to listen on (default `127.0.0.1`; `0.0.0.0` to be scraped from elsewhere). */
  readonly host?: string;
  /** The path served (default `/metrics`); other paths get 404. */
  readonly path?: string;
}

/** A running `/metrics` server. */
export interface MetricsServer {
  /** The URL to scrape, such as `http://127.0.0.1:40123/metrics`. */
  readonly url: string;
  /** The Node server. */
  readonly server: Server;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Starts an HTTP server that serves the registry on `path`; resolves once it listens. */
export function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  const path = options.path ?? '/metrics';
  const handle = metricsHandler(options.registry);
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== path) {
      response.writeHead(404).end();
      return;
    }
    handle(request, response);
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new MetricsError(
          MetricsErrorCodes.ServeFailed,
          `Cannot serve metrics on ${host}:${options.port ?? 0}: ${error.message}`,
          {
            cause: error,
          },
        ),
      ),
    );
    server.listen(options.port ?? 0, host, () => {
      const { port } = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${port}${path}`,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
