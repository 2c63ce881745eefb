import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

// A resolve hook that reports every module resolved, run in the child's loader thread.
const HOOK = `data:text/javascript,${encodeURIComponent(
  "export async function resolve(s, c, n) { const r = await n(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }",
)}`;

/**
 * The URLs of every module a fresh Node process loads while it imports `specifiers` (workspace
 * packages from their sources, through tsx and tsconfig.test.json) and runs `then`, a statement
 * with the imported modules bound to `m0`, `m1`, ... So a unit test can prove a heavy dependency
 * is loaded only when used, not when its package is imported.
 */
export async function modulesLoadedByImport(specifiers: readonly string[], then = ''): Promise<string[]> {
  const imports = specifiers.map((s, i) => `const m${i} = await import(${JSON.stringify(s)});`).join('\n');
  // CommonJS modules loaded with require() pass no resolve hook: list the require cache too.
  const report =
    "const { createRequire } = await import('node:module');" +
    "for (const f of Object.keys(createRequire(import.meta.url).cache)) process.stderr.write('LOADED file://' + f + '\\n');";
  const { stderr } = await run(
    process.execPath,
    [
      '--no-warnings',
      '--import',
      'tsx',
      '--experimental-loader',
      HOOK,
      '--input-type=module',
      '-e',
      `${imports}\n${then}\n${report}`,
    ],
    {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.test.json' },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED '))
    .map((line) => line.slice('LOADED '.length));
}

/** The URLs among `urls` that belong to the npm package `name` (`yaml`, `@aws-sdk/client-s3`). */
export function modulesOf(urls: readonly string[], name: string): string[] {
  return urls.filter((url) => url.includes(`/node_modules/${name}/`));
}
