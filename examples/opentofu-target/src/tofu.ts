import { spawn } from 'node:child_process';

/**
 * Runs the `tofu` program: one child process per call, killed when the signal aborts, with an
 * environment that points OpenTofu at our own CLI configuration and home folder (never the
 * machine's), so providers come from the filesystem mirror and nothing is written to `~`.
 */

/** How to run tofu. */
export interface TofuRunnerOptions {
  /** The `tofu` binary. */
  readonly binary: string;
  /** A CLI configuration file (`TF_CLI_CONFIG_FILE`): provider installation, plugin cache. */
  readonly cliConfigFile: string;
  /** `HOME` for the child (tofu creates `~/.terraform.d`). */
  readonly home: string;
  /** Extra environment (backend credentials as `AWS_*`, `TF_VAR_*`). */
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/** What one run printed and how it ended. */
export interface TofuRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tofu args...` in `cwd`; resolves with the exit code (rejects only when it cannot start or is aborted). */
export function runTofu(
  options: TofuRunnerOptions,
  cwd: string,
  args: readonly string[],
  signal: AbortSignal,
): Promise<TofuRun> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = spawn(options.binary, [...args], {
      cwd,
      signal,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: options.home,
        TF_CLI_CONFIG_FILE: options.cliConfigFile,
        TF_IN_AUTOMATION: '1',
        TF_INPUT: '0',
        CHECKPOINT_DISABLE: '1',
        ...options.env,
      },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(signal.aborted ? signal.reason : error));
    child.on('close', (code) => {
      if (signal.aborted) return reject(signal.reason);
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** The first lines of a run's diagnostics, for an error message (tofu never prints backend secrets). */
export function diagnostics(run: TofuRun, lines = 12): string {
  const text = `${run.stderr}\n${run.stdout}`
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  return text.slice(0, lines).join('\n');
}
