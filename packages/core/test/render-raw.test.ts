import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Artifact, ErrorCodes, RawRenderer } from '@gitops-kit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderError } from './support/render-support.js';

const fixtures = fileURLToPath(new URL('./fixtures/render/raw', import.meta.url));
const signal = new AbortController().signal;

function artifactAt(dir: string): Artifact {
  return { revision: 'test', digest: 'sha256:test', dir, meta: {} };
}

describe('RawRenderer on a fixture tree', () => {
  it('reads .yaml, .yml and .json recursively in path order, with origins relative to the artifact', async () => {
    const manifests = await new RawRenderer().render(artifactAt(fixtures), { signal });
    expect(
      manifests.map(
        (m) =>
          `${m.object.kind}/${m.object.metadata.name} ${m.origin.file}:${m.origin.line}#${m.origin.documentIndex}`,
      ),
    ).toEqual([
      'Namespace/shop app/namespace.yaml:2#0',
      'ConfigMap/one app/nested/config.yml:4#0',
      'ConfigMap/two app/nested/config.yml:11#0',
      'ClusterRole/reader app/nested/role.json:1#0',
      'Deployment/web app/web.yaml:4#1',
      'Service/web app/web.yaml:18#3',
      'ConfigMap/extra other/extra.yaml:1#0',
    ]);
  });

  it('reads a sub-path only, and keeps origins relative to the artifact root', async () => {
    const manifests = await new RawRenderer({ path: 'app/nested' }).render(artifactAt(fixtures), { signal });
    expect(manifests.map((m) => m.origin.file)).toEqual([
      'app/nested/config.yml',
      'app/nested/config.yml',
      'app/nested/role.json',
    ]);
  });

  it('can stay in the top folder', async () => {
    const manifests = await new RawRenderer({ path: 'app', recursive: false }).render(artifactAt(fixtures), {
      signal,
    });
    expect(manifests.map((m) => m.object.metadata.name)).toEqual(['shop', 'web', 'web']);
  });

  it('leaves out excluded files and folders', async () => {
    const manifests = await new RawRenderer({ path: 'app', exclude: ['nested/', 'namespace.yaml'] }).render(
      artifactAt(fixtures),
      { signal },
    );
    expect(manifests.map((m) => m.origin.file)).toEqual(['app/web.yaml', 'app/web.yaml']);
  });

  it('refuses a missing sub-path and one that leaves the artifact', async () => {
    expect(
      (await renderError(new RawRenderer({ path: 'nope' }).render(artifactAt(fixtures), { signal }))).code,
    ).toBe(ErrorCodes.RenderPathNotFound);
    expect(
      (await renderError(new RawRenderer({ path: '../..' }).render(artifactAt(fixtures), { signal }))).code,
    ).toBe(ErrorCodes.RenderPathNotFound);
  });

  it('gives a stable cache key for equal options', async () => {
    expect(await new RawRenderer({ path: 'a' }).cacheKey()).toBe(
      await new RawRenderer({ path: 'a' }).cacheKey(),
    );
    expect(await new RawRenderer({ path: 'a' }).cacheKey()).not.toBe(
      await new RawRenderer({ path: 'b' }).cacheKey(),
    );
  });
});

describe('RawRenderer on bad input', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raw-render-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cm = (name: string): string =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ns\n`;

  it('names both files of a duplicate object', async () => {
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a.yaml'), cm('same'));
    await writeFile(join(dir, 'b', 'c.yaml'), `${cm('other')}---\n${cm('same')}`);
    const error = await renderError(new RawRenderer().render(artifactAt(dir), { signal }));
    expect(error.code).toBe(ErrorCodes.RenderDuplicateObject);
    expect(error.message).toBe(
      'b/c.yaml:7 (document 1) v1 ConfigMap ns/same: duplicate object, first defined at a.yaml:1 (document 0)',
    );
  });

  it('refuses a file over the size limit, naming it', async () => {
    await writeFile(join(dir, 'ok.yaml'), cm('ok'));
    await writeFile(join(dir, 'big.yaml'), `${cm('big')}data:\n  x: "${'a'.repeat(2000)}"\n`);
    const error = await renderError(
      new RawRenderer({ maxFileBytes: 1000 }).render(artifactAt(dir), { signal }),
    );
    expect(error.code).toBe(ErrorCodes.RenderFileTooLarge);
    expect(error.location?.file).toBe('big.yaml');
    const total = await renderError(
      new RawRenderer({ maxTotalBytes: 1000 }).render(artifactAt(dir), { signal }),
    );
    expect(total.code).toBe(ErrorCodes.RenderFileTooLarge);
  });

  it('refuses a binary file named .yaml', async () => {
    await writeFile(
      join(dir, 'image.yaml'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    );
    const error = await renderError(new RawRenderer().render(artifactAt(dir), { signal }));
    expect(error.code).toBe(ErrorCodes.RenderBinaryFile);
    expect(error.location).toMatchObject({ file: 'image.yaml', line: 1 });
    await writeFile(join(dir, 'image.yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    expect((await renderError(new RawRenderer().render(artifactAt(dir), { signal }))).code).toBe(
      ErrorCodes.RenderBinaryFile,
    );
  });

  it('reads a UTF-8 byte order mark like kubectl', async () => {
    await writeFile(
      join(dir, 'bom.yaml'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(cm('bom'))]),
    );
    const [m] = await new RawRenderer().render(artifactAt(dir), { signal });
    expect(m?.object.apiVersion).toBe('v1');
  });

  it('reports malformed YAML and missing fields with the file path inside the artifact', async () => {
    await mkdir(join(dir, 'deep'));
    await writeFile(
      join(dir, 'deep', 'bad.yml'),
      `${cm('a')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n`,
    );
    const error = await renderError(new RawRenderer().render(artifactAt(dir), { signal }));
    expect(error.code).toBe(ErrorCodes.RenderYamlInvalid);
    expect(error.location).toMatchObject({ file: 'deep/bad.yml', documentIndex: 1 });
    await writeFile(join(dir, 'deep', 'bad.yml'), 'apiVersion: v1\nmetadata: {name: x}\n');
    const missing = await renderError(new RawRenderer().render(artifactAt(dir), { signal }));
    expect(missing.code).toBe(ErrorCodes.RenderMissingField);
    expect(missing.message).toBe('deep/bad.yml:1 (document 0): object has no kind');
  });

  it('follows symbolic links inside the artifact but refuses links that leave it', async () => {
    await mkdir(join(dir, 'real'));
    await writeFile(join(dir, 'real', 'a.yaml'), cm('linked'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    const inside = await new RawRenderer({ path: 'link' }).render(artifactAt(dir), { signal });
    expect(inside.map((m) => m.object.metadata.name)).toEqual(['linked']);
    const outside = await mkdtemp(join(tmpdir(), 'raw-outside-'));
    try {
      await writeFile(join(outside, 'secret.yaml'), cm('secret'));
      await symlink(join(outside, 'secret.yaml'), join(dir, 'real', 'escape.yaml'));
      const error = await renderError(new RawRenderer({ path: 'real' }).render(artifactAt(dir), { signal }));
      expect(error.code).toBe('RENDER_UNSAFE_PATH');
      expect(error.location?.file).toBe('real/escape.yaml');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('renders thousands of manifests', async () => {
    const docs = Array.from({ length: 500 }, (_, i) => cm(`cm-${i}`)).join('---\n');
    await Promise.all(
      Array.from({ length: 6 }, (_, f) =>
        writeFile(join(dir, `f${f}.yaml`), docs.replaceAll('name: cm-', `name: f${f}-`)),
      ),
    );
    const manifests = await new RawRenderer().render(artifactAt(dir), { signal });
    expect(manifests).toHaveLength(3000);
    expect(manifests[2999]?.origin).toMatchObject({ file: 'f5.yaml', documentIndex: 499 });
  });

  it('stops when aborted', async () => {
    await writeFile(join(dir, 'a.yaml'), cm('a'));
    const controller = new AbortController();
    controller.abort();
    const error = await new RawRenderer()
      .render(artifactAt(dir), { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.Aborted });
  });
});
