import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Artifact, DirectorySource, ErrorCodes, KustomizeRenderer } from '@gitops-kit/core';
import { type ToolsEnv, testenv } from '@gitops-kit/testenv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderError } from './support/render-support.js';

const signal = new AbortController().signal;
const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n';

let tools: ToolsEnv;
let server: Server;
let port: number;
let connections = 0;
let cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  tools = await testenv.tools();
  // A local HTTP server standing for "somewhere on the network": it counts every connection.
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/yaml' });
    res.end(configMap);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
  connections = 0;
});

/** A read-only artifact (a DirectorySource snapshot, as in a reconcile) holding `files`. */
async function artifactOf(files: Record<string, string>): Promise<Artifact> {
  const dir = await mkdtemp(join(tmpdir(), 'gitops-kit-remote-int-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const source = new DirectorySource({ path: dir });
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  cleanup.push(() => source.dispose());
  return source.fetch({ signal });
}

describe('KustomizeRenderer refuses remote resources with the real kustomize', () => {
  it('opens no connection for a remote resource or Git base, and does with the host allowed', async () => {
    const artifact = await artifactOf({
      'app/kustomization.yaml': `resources:\n  - http://127.0.0.1:${port}/app.yaml\n  - ../base\n`,
      'base/kustomization.yaml': `resources:\n  - 127.0.0.1:${port}/org/repo//deploy?ref=main\n`,
    });
    const refused = new KustomizeRenderer({ path: 'app', binary: tools.kustomize });
    const error = await renderError(refused.render(artifact, { signal }));
    expect(connections).toBe(0);
    expect(error).toMatchObject({
      code: ErrorCodes.RenderRemoteResource,
      location: { file: 'app/kustomization.yaml', line: 2 },
    });
    expect(error.message).toContain(`http://127.0.0.1:${port}/app.yaml`);
    expect(error.message).toContain('(and 1 more)');
    // The Git base behind a local base is found too.
    const base = await renderError(
      new KustomizeRenderer({ path: 'base', binary: tools.kustomize }).render(artifact, { signal }),
    );
    expect(base).toMatchObject({
      code: ErrorCodes.RenderRemoteResource,
      location: { file: 'base/kustomization.yaml', line: 2 },
    });
    expect(base.message).toContain(`127.0.0.1:${port}/org/repo//deploy?ref=main`);
    expect(connections).toBe(0);

    // The same server is reached as soon as the check is opted out of: the test can see a connection.
    const fetched = await artifactOf({
      'kustomization.yaml': `resources:\n  - http://127.0.0.1:${port}/app.yaml\n`,
    });
    const allowed = new KustomizeRenderer({ binary: tools.kustomize, allowRemoteHosts: ['127.0.0.1'] });
    const manifests = await allowed.render(fetched, { signal });
    expect(manifests.map((m) => m.object.metadata.name)).toEqual(['fetched']);
    expect(connections).toBeGreaterThan(0);
  });
});

describe('kustomize error messages name artifact paths only', () => {
  it('keeps no temporary or snapshot path in the message, with and without origins', async () => {
    const artifact = await artifactOf({
      'apps/web/kustomization.yaml': 'resourcez:\n  - cm.yaml\n',
      'apps/missing/kustomization.yaml': 'resources:\n  - ../shared\n  - nothere.yaml\n',
      'apps/shared/kustomization.yaml': 'resources: []\n',
    });
    for (const origins of [true, false]) {
      const web = await renderError(
        new KustomizeRenderer({ path: 'apps/web', origins, binary: tools.kustomize }).render(artifact, {
          signal,
        }),
      );
      expect(web.location).toEqual({ file: 'apps/web/kustomization.yaml' });
      expect(web.message).toBe(
        'apps/web/kustomization.yaml: kustomize build failed: invalid Kustomization: json: unknown field "resourcez"',
      );
      const missing = await renderError(
        new KustomizeRenderer({ path: 'apps/missing', origins, binary: tools.kustomize }).render(artifact, {
          signal,
        }),
      );
      expect(missing.message).toContain('apps/missing/nothere.yaml');
      for (const message of [web.message, missing.message]) {
        expect(message).not.toContain(artifact.dir);
        expect(message).not.toMatch(/gitops-kit-|<tmp>|\.\.\/\.\.|\/tmp\//);
      }
    }
  });
});
