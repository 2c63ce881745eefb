import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Artifact,
  type KubeObject,
  type Manifest,
  MemoryStateStore,
  Reconciler,
} from '@gitops-kit/core';
import {
  describeConformance,
  rendererConformance,
  sourceConformance,
  targetConformance,
} from '@gitops-kit/core/conformance';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ConfigServiceClient,
  ConfigServiceSource,
  type ConfigSnapshot,
  EnvFileRenderer,
  JsonFolderTarget,
} from '../src/index.js';

const folders: string[] = [];
async function folder(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `extending-${prefix}-`));
  folders.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of folders.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** An in-memory configuration service whose snapshot the test changes. */
class FakeService implements ConfigServiceClient {
  readonly url = 'https://config.example.com/team-a';
  current: ConfigSnapshot;
  down = false;
  constructor(files: Record<string, string>) {
    this.current = { version: '1', files };
  }
  async snapshot(signal: AbortSignal): Promise<ConfigSnapshot> {
    signal.throwIfAborted();
    if (this.down) throw new Error('connection refused');
    return this.current;
  }
  publish(files: Record<string, string>): void {
    this.current = { version: String(Number(this.current.version) + 1), files };
  }
}

describeConformance(
  { describe, it },
  sourceConformance,
  async () => {
    const service = new FakeService({ 'web.env': 'COLOR=blue\n' });
    const broken = new FakeService({});
    broken.down = true;
    return {
      source: new ConfigServiceSource({ client: service, artifactsDir: await folder('source') }),
      change: async () => service.publish({ 'web.env': 'COLOR=green\n' }),
      broken: new ConfigServiceSource({ client: broken, artifactsDir: await folder('broken') }),
    };
  },
  { name: 'ConfigServiceSource passes the Source kit' },
);

async function envArtifact(files: Record<string, string>): Promise<Artifact> {
  const dir = await folder('artifact');
  for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
  return { revision: 'test', digest: 'sha256:0000000000000000', dir, meta: {} };
}

describeConformance(
  { describe, it },
  rendererConformance,
  async () => ({
    renderer: new EnvFileRenderer({ namespace: 'team-a' }),
    artifact: await envArtifact({ 'web.env': '# web\nCOLOR=blue\n', 'db.env': 'SIZE=small\n' }),
    broken: await envArtifact({ 'bad.env': 'COLOR=blue\nnot a pair\n' }),
  }),
  { name: 'EnvFileRenderer passes the Renderer kit' },
);

const configMap = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'team-a' },
  data,
});
const manifest = (object: KubeObject): Manifest => ({
  object,
  origin: { file: `${object.metadata.name}.env`, documentIndex: 0, line: 1 },
});

describeConformance(
  { describe, it },
  targetConformance,
  async () => {
    const dir = await folder('target');
    const target = new JsonFolderTarget({ dir, owner: 'team-a' });
    const set = (color: string): Manifest[] =>
      [
        configMap('web', { COLOR: color }),
        configMap('db', { SIZE: 'small' }),
        configMap('cache', { TTL: '60' }),
      ].map(manifest);
    return {
      target,
      manifests: set('blue'),
      changed: set('green'),
      observe: async () => {
        const names = await readdir(dir).catch(() => [] as string[]);
        return Promise.all(names.sort().map(async (n) => [n, await readFile(join(dir, n), 'utf8')]));
      },
      exists: async (ref) =>
        readFile(target.fileOf(ref)).then(
          () => true,
          () => false,
        ),
      foreign: async () => {
        const object = configMap('hand-made', {});
        await mkdir(dir, { recursive: true });
        await writeFile(
          target.fileOf({ ...object, ...object.metadata }),
          JSON.stringify({ owner: 'someone-else', object }),
        );
        return { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'hand-made' };
      },
      invalid: [manifest(configMap('Not_A_File_Name', {}))],
    };
  },
  { name: 'JsonFolderTarget passes the Target kit' },
);

describe('the three parts under a Reconciler', () => {
  it('applies, reverts a hand edit, prunes a removed file and keeps only the artifacts in use', async () => {
    const service = new FakeService({ 'web.env': 'COLOR=blue\n', 'db.env': 'SIZE=small\n' });
    const artifactsDir = await folder('artifacts');
    const out = await folder('out');
    const target = new JsonFolderTarget({ dir: out, owner: 'team-a' });
    const reconciler = new Reconciler({
      name: 'team-a',
      source: new ConfigServiceSource({ client: service, artifactsDir }),
      renderer: new EnvFileRenderer({ namespace: 'team-a' }),
      target,
      stateStore: new MemoryStateStore(),
    });
    const read = async (name: string): Promise<unknown> =>
      JSON.parse(await readFile(join(out, `ConfigMap.team-a.${name}.json`), 'utf8')).object.data;

    const first = await reconciler.reconcile();
    expect(first.outcome).toBe('succeeded');
    expect(reconciler.status.lastAppliedRevision).toMatch(/^v1@sha256:[0-9a-f]{64}$/);
    expect(await read('web')).toEqual({ COLOR: 'blue' });

    // Someone edits a file by hand: the next pass sees drift and writes it back.
    const file = join(out, 'ConfigMap.team-a.web.json');
    await writeFile(file, JSON.stringify({ owner: 'team-a', object: configMap('web', { COLOR: 'red' }) }));
    const drifted: string[] = [];
    reconciler.on('drifted', (e) => drifted.push(...e.objects.map((o) => o.name)));
    await reconciler.reconcile();
    expect(drifted).toEqual(['web']);
    expect(await read('web')).toEqual({ COLOR: 'blue' });

    // A new version without db.env: its file is pruned, and the old artifact is released.
    service.publish({ 'web.env': 'COLOR=green\n' });
    await reconciler.reconcile();
    expect(reconciler.status.lastAppliedRevision).toMatch(/^v2@/);
    expect((await readdir(out)).sort()).toEqual(['ConfigMap.team-a.web.json']);
    await new Promise((resolve) => setImmediate(resolve));
    const artifacts = (await readdir(artifactsDir)).filter((n) => !n.endsWith('.json') && !n.startsWith('.'));
    expect(artifacts).toHaveLength(1);
  });
});
