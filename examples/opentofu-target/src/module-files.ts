import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Manifest } from '@gitops-kit/core';
import { isModule, type ModuleSpec, type ResourceSpec, specOf } from './model.js';

/**
 * Writes the manifests back into a root module folder: each `.tf` file is its blocks in line
 * order, each `.tf.json` file its object with the resources put back, and a generated file
 * declares the backend, whose settings the target passes to `tofu init`.
 */

/** The file the target adds to declare the backend (the code in Git must not declare one). */
export const BACKEND_FILE = '_gitops_kit_backend.tf.json';

/** The files of the root module the manifests describe, by relative path. */
export function moduleFiles(manifests: readonly Manifest[], backend: string): Map<string, string> {
  const hcl = new Map<string, { line: number; text: string }[]>();
  const json = new Map<string, Record<string, unknown>>();
  const files = new Map<string, string>();
  const addHcl = (file: string, line: number, text: string): void => {
    hcl.set(file, [...(hcl.get(file) ?? []), { line, text }]);
  };
  for (const { object } of manifests) {
    if (isModule(object)) {
      const spec = specOf<ModuleSpec>(object);
      for (const block of spec.hcl) addHcl(block.file, block.line, block.text);
      for (const part of spec.json) json.set(part.file, { ...part.value, ...json.get(part.file) });
      for (const [path, content] of Object.entries(spec.files)) files.set(path, content);
      continue;
    }
    const spec = specOf<ResourceSpec>(object);
    if (spec.hcl !== undefined) addHcl(spec.file, spec.line, spec.hcl);
    else {
      const value = json.get(spec.file) ?? {};
      const resource = (value.resource ?? {}) as Record<string, Record<string, unknown>>;
      resource[object.kind] = { ...resource[object.kind], [object.metadata.name]: spec.json };
      json.set(spec.file, { ...value, resource });
    }
  }
  for (const [file, blocks] of hcl) {
    files.set(
      file,
      `${[...blocks]
        .sort((a, b) => a.line - b.line)
        .map((b) => b.text)
        .join('\n\n')}\n`,
    );
  }
  for (const [file, value] of json) files.set(file, `${JSON.stringify(value, null, 2)}\n`);
  files.set(BACKEND_FILE, `${JSON.stringify({ terraform: { backend: { [backend]: {} } } }, null, 2)}\n`);
  return files;
}

/** Replaces the module folder's files with `files`, keeping `.terraform` and the lock file. */
export async function writeModule(dir: string, files: ReadonlyMap<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(dir)) {
    if (entry.startsWith('.')) continue;
    await rm(join(dir, entry), { recursive: true, force: true });
  }
  for (const [path, content] of files) {
    const target = join(dir, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}
