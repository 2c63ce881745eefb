import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { ErrorCodes, ReconcileError } from '../errors.js';

/**
 * Running render tools (kustomize, helm) safely: an argument array and no shell, so nothing in an
 * artifact can inject a command; a scrubbed environment, so the user's credentials, kubeconfig and
 * Helm repositories never reach the tool; a timeout; an `AbortSignal`; and a cap on output.
 * The function is injectable so argument building, parsing and caching are tested without binaries.
 */

/** One tool invocation. */
export interface RunRequest {
  /** Absolute path (or a name looked up on PATH by the OS) of the executable. */
  readonly command: string;
  /** The arguments, passed as they are (no shell). */
  readonly args: readonly string[];
  /** The working folder of the child. */
  readonly cwd?: string;
  /** The complete environment of the child: nothing is inherited. */
  readonly env: Readonly<Record<string, string>>;
  /** Kills the tool when aborted. */
  readonly signal?: AbortSignal;
  /** Kill the tool after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Kill the tool when stdout grows beyond this many bytes. */
  readonly maxOutputBytes?: number;
}

/** What a tool did. */
export interface RunResult {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  /** What the tool wrote to standard output. */
  readonly stdout: string;
  /** What the tool wrote to standard error. */
  readonly stderr: string;
  /** True when the timeout killed the tool. */
  readonly timedOut: boolean;
  /** True when stdout passed `maxOutputBytes` and the tool was killed. */
  readonly outputLimited: boolean;
}

/** Runs a tool. Rejects with an error whose `code` is `ENOENT` when the executable is missing. */
export type RunFunction = (request: RunRequest) => Promise<RunResult>;

/** The largest stderr kept (the start of it), enough for any tool's error message. */
const MAX_STDERR_BYTES = 64 * 1024;

/**
 * The default {@link RunFunction}: `child_process.spawn` without a shell. An abort kills the tool
 * and rejects with a `ReconcileError` `RECONCILE_ABORTED`.
 */
export const runProcess: RunFunction = (request) =>
  new Promise<RunResult>((resolvePromise, reject) => {
    if (request.signal?.aborted) {
      reject(new ReconcileError(ErrorCodes.Aborted, 'aborted', { cause: request.signal.reason }));
      return;
    }
    const child = spawn(request.command, [...request.args], {
      cwd: request.cwd,
      env: { ...request.env },
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let outputLimited = false;
    let aborted = false;
    let settled = false;
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer =
      request.timeoutMs !== undefined && request.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            kill();
          }, request.timeoutMs)
        : undefined;
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (request.maxOutputBytes !== undefined && outBytes > request.maxOutputBytes) {
        outputLimited = true;
        kill();
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < MAX_STDERR_BYTES) err.push(chunk);
      errBytes += chunk.length;
    });
    child.on('error', (error) => {
      if (settled) return;
      finish();
      reject(error);
    });
    child.on('close', (code) => {
      if (settled) return;
      finish();
      if (aborted) {
        reject(new ReconcileError(ErrorCodes.Aborted, 'aborted', { cause: request.signal?.reason }));
        return;
      }
      resolvePromise({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8').slice(0, MAX_STDERR_BYTES),
        timedOut,
        outputLimited,
      });
    });
  });

/** Whether `path` is an executable file. */
async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Finds an executable by name on a PATH (default: the process's), as a shell would, without
 * running a shell. An absolute or relative path is returned when it is executable.
 */
export async function findExecutable(
  name: string,
  path: string | undefined = process.env.PATH,
): Promise<string | undefined> {
  if (isAbsolute(name) || name.includes('/')) return (await isExecutable(name)) ? name : undefined;
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The environment render tools get: a fixed PATH, a private HOME and temp folder, `LANG=C`, and
 * nothing else from the parent (no cloud credentials, no KUBECONFIG, no proxy secrets) unless the
 * caller passes it in `extra`.
 */
export function scrubbedEnv(
  home: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    TMPDIR: home,
    LANG: 'C',
    LC_ALL: 'C',
    // Point kubeconfig at nothing: a render tool has no business talking to a cluster.
    KUBECONFIG: join(home, 'no-kubeconfig'),
    ...extra,
  };
}

/** Whether an error from a {@link RunFunction} means the executable does not exist. */
export function isMissingExecutable(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    ((error as { code: unknown }).code === 'ENOENT' || (error as { code: unknown }).code === 'EACCES')
  );
}
