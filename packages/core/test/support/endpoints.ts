import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { findSecrets, RawRenderer, Reconciler, type Source } from '@gitops-kit/core';
import { FakeCluster } from '@gitops-kit/core/testing';

/**
 * Real local endpoints on 127.0.0.1 for the sources' timeout and leak tests: a server that accepts
 * and never answers is what a hung endpoint is. Every server is closed by {@link closeEndpoints}.
 */

const closers: (() => Promise<void>)[] = [];

async function listen(server: Server): Promise<string> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

/** A TCP server that accepts connections, reads what is sent, and never answers; counts connections. */
export async function hungEndpoint(): Promise<{ url: string; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.on('data', () => undefined);
  });
  return { url: await listen(server), connections: () => count };
}

/** An HTTP server answering every request with `handler`. */
export async function httpEndpoint(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  return listen(createHttpServer(handler) as unknown as Server);
}

/** Closes every endpoint opened so far (call from `afterEach`). */
export async function closeEndpoints(): Promise<void> {
  for (const close of closers.splice(0)) await close();
}

/** Awaits `work` and says how it ended and how long it took. */
export async function timed(work: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await work;
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

/**
 * Runs one pass of a Reconciler over `source` (which must fail) and searches its `failed` events,
 * its result and its status for `secrets`: the places a leaked credential would reach a log.
 */
export async function leaksOfFailedPass(source: Source, secrets: readonly string[]): Promise<string[]> {
  const reconciler = new Reconciler({
    name: 'leak',
    source,
    renderer: new RawRenderer(),
    target: new FakeCluster(),
  });
  const events: unknown[] = [];
  reconciler.on('failed', (event) => events.push(event));
  const result = await reconciler.reconcile();
  if (result.outcome !== 'failed' || events.length !== 1) {
    throw new Error(`expected one failed pass, got ${result.outcome} with ${events.length} failed events`);
  }
  return findSecrets([events, result, reconciler.status], secrets);
}
