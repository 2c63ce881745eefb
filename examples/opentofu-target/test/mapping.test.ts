import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MASKED_CHANGED_VALUE, MASKED_VALUE, RenderError } from '@gitops-kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { TofuRenderer } from '../src/index.js';
import { BACKEND_FILE, moduleFiles } from '../src/module-files.js';
import { actionOf, fieldChanges } from '../src/plan-json.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function renderFiles(files: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'tofu-map-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
  return new TofuRenderer().render(
    { revision: 'r', digest: 'sha256:00', dir, meta: {} },
    { signal: new AbortController().signal },
  );
}

describe('OpenTofu plan JSON to gitops-kit changes', () => {
  it('folds tofu actions: a delete-and-create is a replace', () => {
    expect(actionOf(['create'])).toBe('create');
    expect(actionOf(['update'])).toBe('update');
    expect(actionOf(['delete', 'create'])).toBe('replace');
    expect(actionOf(['create', 'delete'])).toBe('replace');
    expect(actionOf(['delete'])).toBe('delete');
    expect(actionOf(['no-op'])).toBe('no-op');
    expect(actionOf(['read'])).toBe('no-op');
  });

  it('masks sensitive values, marks unknown ones and names the paths that force a replace', () => {
    const changes = fieldChanges({
      actions: ['delete', 'create'],
      before: { input: { color: 'blue', password: 'hunter2' }, id: 'a' },
      after: { input: { color: 'green', password: 'hunter3' } },
      after_unknown: { id: true },
      before_sensitive: { input: { password: true } },
      after_sensitive: { input: { password: true } },
      replace_paths: [['input', 'color']],
    });
    expect(changes).toContainEqual({ path: '/input/color', before: 'blue', after: 'green' });
    expect(changes).toContainEqual({ path: '/id', before: 'a', after: '(known after apply)' });
    expect(JSON.stringify(changes)).not.toContain('hunter');
    expect(changes).toContainEqual({
      path: '/input/password',
      before: MASKED_VALUE,
      after: MASKED_CHANGED_VALUE,
    });
    expect(changes.at(-1)).toEqual({
      path: '(replace)',
      before: 'forces replacement:',
      after: '/input/color',
    });
  });
});

describe('TofuRenderer and the module written back', () => {
  it('gives one manifest per resource and a Module for the rest, and writes the same module back', async () => {
    const main =
      'terraform {}\n\nresource "terraform_data" "web" {\n  input = "a"\n}\n\noutput "x" {\n  value = 1\n}\n';
    const json = JSON.stringify({ resource: { terraform_data: { db: { input: 'b' } } }, locals: { a: 1 } });
    const manifests = await renderFiles({ 'main.tf': main, 'extra.tf.json': json });
    expect(
      manifests.map((m) => `${m.object.kind}.${m.object.metadata.name}@${m.origin.file}:${m.origin.line}`),
    ).toEqual(['Module.root@main.tf:1', 'terraform_data.db@extra.tf.json:1', 'terraform_data.web@main.tf:3']);
    const files = moduleFiles(manifests, 's3');
    expect(files.get('main.tf')).toBe(
      'terraform {}\n\nresource "terraform_data" "web" {\n  input = "a"\n}\n\noutput "x" {\n  value = 1\n}\n',
    );
    expect(JSON.parse(files.get('extra.tf.json') ?? '{}')).toEqual(JSON.parse(json));
    expect(JSON.parse(files.get(BACKEND_FILE) ?? '{}')).toEqual({ terraform: { backend: { s3: {} } } });
  });

  it('refuses a broken file with a RenderError naming file and line', async () => {
    const error = await renderFiles({ 'main.tf': 'resource "a" "b" {\n  x = "unclosed\n}\n' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).location).toMatchObject({ file: 'main.tf', line: 2 });
  });
});
