import { spawn } from 'node:child_process';

/**
 * Runs a benchmark's measured side (a `.mjs` script on plain Node with `nodeFlags`, so its RSS is
 * the library's) with `KUBECONFIG` set, its stderr passed through; resolves with its last stdout line as JSON.
 */
export function runMeasured<T>(
  nodeFlags: readonly string[],
  script: string,
  args: readonly string[],
  kubeconfig: string,
): Promise<T> {
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${script} exited with ${code}: ${out}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as T);
    });
  });
}
