import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SourceError } from '@gitops-kit/core';
import { expect } from 'vitest';

/** Every file under `dir`, as relative path (with `/`) → UTF-8 content: what an artifact holds. */
export async function filesOf(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (folder: string): Promise<void> => {
    for (const item of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, item.name);
      if (item.isDirectory()) await walk(path);
      else result[relative(dir, path).split('\\').join('/')] = await readFile(path, 'utf8');
    }
  };
  await walk(dir);
  return result;
}

/** The `SourceError` a fetch rejects with; fails the test when it resolves or throws anything else. */
export async function failure(promise: Promise<unknown>): Promise<SourceError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    return error as SourceError;
  }
  throw new Error('expected the fetch to fail');
}
