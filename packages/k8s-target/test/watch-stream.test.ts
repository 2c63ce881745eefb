import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeConnection } from '../src/connection.js';
import { KubeApiError } from '../src/errors.js';
import { connectionWatchStream, type WatchEvent } from '../src/watch-stream.js';

/** The default watch stream against a plain HTTP server that plays the apiserver. */

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<KubeConfig> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: 'fake',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: 'the-token' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  return kubeConfig;
}

const event = (type: string, name: string, resourceVersion: string) =>
  `${JSON.stringify({ type, object: { kind: 'ConfigMap', metadata: { name, resourceVersion } } })}\n`;

describe('connectionWatchStream', () => {
  it('watches as the impersonated user, and parses events split across chunks', async () => {
    let seen: IncomingMessage | undefined;
    const kubeConfig = await serve((req, res) => {
      seen = req;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const text = event('ADDED', 'a', '1') + event('MODIFIED', 'a', '2') + event('BOOKMARK', '', '3');
      // Three writes that cut lines in the middle.
      res.write(text.slice(0, 10));
      res.write(text.slice(10, 100));
      setTimeout(() => res.end(text.slice(100)), 20);
    });
    const stream = connectionWatchStream(
      kubeConnection(kubeConfig, { impersonate: { user: 'alice', groups: ['team-a', 'devs'] } }),
    );
    const events: WatchEvent[] = [];
    await stream(
      '/api/v1/configmaps',
      { labelSelector: 'a=b', resourceVersion: '7' },
      (e) => events.push(e),
      new AbortController().signal,
    );
    expect(events.map((e) => [e.type, e.object.metadata.resourceVersion])).toEqual([
      ['ADDED', '1'],
      ['MODIFIED', '2'],
      ['BOOKMARK', '3'],
    ]);
    const url = new URL(seen?.url ?? '', 'http://x');
    expect(url.pathname).toBe('/prefix/api/v1/configmaps');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      labelSelector: 'a=b',
      resourceVersion: '7',
      watch: 'true',
    });
    expect(seen?.headers['impersonate-user']).toBe('alice');
    expect(seen?.headers['impersonate-group']).toBe('team-a, devs');
    expect(seen?.headers.authorization).toBe('Bearer the-token');
  });

  it('rejects with the status code when the server refuses the watch', async () => {
    const kubeConfig = await serve((_req, res) => {
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'configmaps is forbidden' }));
    });
    const stream = connectionWatchStream(kubeConnection(kubeConfig, {}));
    const error = await stream('/api/v1/configmaps', {}, () => undefined, new AbortController().signal).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ statusCode: 403, reason: 'Forbidden' });
  });

  it('resolves when the signal aborts an open stream', async () => {
    const kubeConfig = await serve((_req, res) => {
      res.writeHead(200);
      res.write(event('ADDED', 'a', '1'));
    });
    const stream = connectionWatchStream(kubeConnection(kubeConfig, {}));
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    const open = stream(
      '/api/v1/configmaps',
      {},
      (e) => {
        events.push(e);
        controller.abort();
      },
      controller.signal,
    );
    await expect(open).resolves.toBeUndefined();
    expect(events).toHaveLength(1);
  });

  it('fails a stream that stays silent past the server timeout and a margin (a half-open connection)', async () => {
    const kubeConfig = await serve((_req, res) => {
      res.writeHead(200);
      res.write(event('ADDED', 'a', '1'));
      // …and then nothing, as when the server is gone without a reset.
    });
    const stream = connectionWatchStream(kubeConnection(kubeConfig, {}), { idleMarginMs: 300 });
    const started = Date.now();
    const error = await stream(
      '/api/v1/configmaps',
      { timeoutSeconds: '0' },
      () => undefined,
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect(String(error)).toMatch(/nothing arrived for 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
