import { createRequire } from 'node:module';
import type IsomorphicGit from 'isomorphic-git';

/**
 * isomorphic-git, loaded the first time the engine calls it rather than when the package is
 * imported (some 20 MiB of RSS and 0.4 s a program that uses the native engine, or no Git source,
 * should not pay). Under Node the package resolves to its CommonJS build for `import` and
 * `require` alike, so this is the very module an `import` would give.
 */
type Git = typeof IsomorphicGit;

const require = createRequire(import.meta.url);
let loaded: Git | undefined;

function load(): Git {
  loaded ??= require('isomorphic-git') as Git;
  return loaded;
}

/** isomorphic-git's functions, the module loaded on the first property read. */
export const git: Git = new Proxy({} as Git, {
  get: (_target, key) => (load() as unknown as Record<PropertyKey, unknown>)[key],
});
