import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** A server process started by testenv, in its own process group. */
export interface ManagedProcess {
  /** Short name used in messages, e.g. `etcd`. */
  readonly name: string;
  /** Path of the file that receives the process's stdout and stderr. */
  readonly logPath: string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** Stops the whole process group: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

// Every group still running, so a crashing test run can kill them synchronously on exit.
const running = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of running) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

// Every server runs under scripts/watchdog.sh, which kills it if this Node process dies
// without stopping it (even by SIGKILL): no server outlives the test run.
const WATCHDOG = fileURLToPath(new URL('../scripts/watchdog.sh', import.meta.url));

/** Options of {@link startProcess}. */
export interface StartOptions {
  /** Name used in messages. */
  name: string;
  /** Absolute path of the binary. */
  binary: string;
  /** Arguments. */
  args: string[];
  /** Where stdout and stderr go. */
  logPath: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/** Starts a binary in a new process group with its output in a log file. */
export function startProcess(options: StartOptions): ManagedProcess {
  installExitHook();
  const fd = openSync(options.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn('bash', [WATCHDOG, String(process.pid), options.binary, ...options.args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
    });
  } finally {
    closeSync(fd);
  }
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`testenv: could not start ${options.name} (${options.binary})`);
  running.add(pgid);
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      running.delete(pgid);
      resolve(signal ? `signal ${signal}` : `exit code ${code}`);
    });
    child.once('error', (error) => {
      done = true;
      running.delete(pgid);
      resolve(`spawn error ${error.message}`);
    });
  });
  // The group must not keep the event loop alive on its own.
  child.unref();
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pgid, signal);
    } catch {
      // the group is already gone
    }
  };
  return {
    name: options.name,
    logPath: options.logPath,
    exited,
    hasExited: () => done,
    async stop(graceMs = 5_000): Promise<void> {
      if (!done) {
        signalGroup('SIGTERM');
        const result = await Promise.race([exited, sleep(graceMs).then(() => 'timeout')]);
        if (result === 'timeout') signalGroup('SIGKILL');
        await exited;
      }
      // Stragglers of the group (the watchdog's sleep) go too.
      signalGroup('SIGKILL');
    },
  };
}

/** The last lines of a log file, for error messages. */
export function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `check` until it returns true. Fails early, naming the binary, port (or what it waited
 * for) and log, when the process exits or the deadline passes.
 */
export async function waitReady(
  proc: ManagedProcess,
  what: { binary: string; port?: number; waitingFor?: string },
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const where = what.port === undefined ? '' : `, port ${what.port}`;
  const notReady = what.port === undefined ? `(${what.waitingFor ?? 'ready'})` : `on port ${what.port}`;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc.hasExited()) {
      throw new Error(
        `testenv: ${proc.name} (${basename(what.binary)}${where}) exited during start-up (${await proc.exited}); log: ${proc.logPath}\n${logTail(proc.logPath)}`,
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(
    `testenv: ${proc.name} (${what.binary}) not ready ${notReady} after ${timeoutMs} ms${
      lastError ? ` (last error: ${lastError})` : ''
    }; log: ${proc.logPath}\n${logTail(proc.logPath)}`,
  );
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion and returns its stdout; the error names the command. */
export function run(
  binary: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      args,
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`testenv: ${basename(binary)} ${args.join(' ')} failed: ${error.message}\n${stderr}`),
          );
        } else {
          resolve(stdout);
        }
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
