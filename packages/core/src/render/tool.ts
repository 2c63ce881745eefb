import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, type ErrorLocation, GitOpsError, RenderError } from '../errors.js';
import {
  isMissingExecutable,
  type RunFunction,
  type RunRequest,
  runProcess,
  scrubbedEnv,
} from './process.js';

/** Options every tool-backed renderer takes. */
export interface ToolRendererOptions {
  /** Path of the binary. Default: looked up on PATH. */
  readonly binary?: string;
  /** Kill the tool after this many milliseconds (default 60,000). */
  readonly timeoutMs?: number;
  /** Extra environment variables for the tool (the rest of the environment is scrubbed). */
  readonly env?: Readonly<Record<string, string>>;
  /** How to run a process (default: spawn the binary directly, no shell); inject one to test without binaries. */
  readonly run?: RunFunction;
  /** The largest output accepted, in bytes (default 256 MiB). */
  readonly maxOutputBytes?: number;
}

/** Defaults shared by the tool renderers. */
export const DEFAULT_TOOL_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** Runs `fn` with a private temporary folder (real path), removed afterwards. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Makes a tool's stderr readable in an error: drops klog prefixes (`E1122 03:13:17.6 123 run.go:72]`),
 * replaces temporary and artifact paths with short names, and keeps it to a sane length.
 */
export function cleanToolMessage(
  stderr: string,
  replacements: readonly (readonly [string | RegExp, string])[] = [],
): string {
  let text = stderr
    .split('\n')
    .map((line) => line.replace(/^[EWIF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]\s*/, ''))
    .join('\n')
    .trim();
  // `"command failed" err="…"` is how kubectl wraps kustomize's message.
  const wrapped = /^"command failed" err="(.*)"$/s.exec(text);
  if (wrapped?.[1]) text = wrapped[1].replace(/\\"/g, '"').replace(/\\n/g, '\n');
  text = text.replace(/^Error: /, '');
  for (const [from, to] of replacements) {
    if (typeof from === 'string') {
      if (from) text = text.split(from).join(to);
    } else {
      text = text.replace(from, to);
    }
  }
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text || '(no message)';
}

/** What {@link runTool} needs to know besides the request. */
export interface ToolCall {
  /** The tool's name for messages: `kustomize`, `helm`. */
  readonly tool: string;
  /** How to tell people to provide the binary when it is missing. */
  readonly missingHint: string;
  /** Where the failure points (the kustomization or chart folder). */
  readonly location: ErrorLocation;
  /** Paths to shorten in messages. */
  readonly replacements?: readonly (readonly [string | RegExp, string])[];
  /** Finds a more precise place in the tool's message (Helm names the template, line and column). */
  readonly locate?: (message: string) => ErrorLocation | undefined;
}

/**
 * Runs a tool and returns its stdout, turning every failure into a typed error: a missing binary
 * (`RENDER_TOOL_MISSING`), a timeout, an output over the limit or a non-zero exit
 * (`RENDER_TOOL_FAILED`, carrying the tool's own message). Aborts pass through as they are.
 */
export async function runTool(
  call: ToolCall,
  request: Omit<RunRequest, 'env'> & { env?: Readonly<Record<string, string>>; home: string },
  options: ToolRendererOptions,
): Promise<string> {
  const run = options.run ?? runProcess;
  const { home, env, ...rest } = request;
  let result: Awaited<ReturnType<RunFunction>>;
  try {
    result = await run({
      ...rest,
      env: scrubbedEnv(home, { ...env, ...options.env }),
      timeoutMs: options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    });
  } catch (error) {
    if (error instanceof GitOpsError) throw error;
    if (isMissingExecutable(error)) {
      throw new RenderError(
        ErrorCodes.RenderToolMissing,
        `${call.tool} binary "${request.command}" was not found or cannot run: ${call.missingHint}`,
        {
          location: call.location,
          cause: error,
        },
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new RenderError(ErrorCodes.RenderToolFailed, `${call.tool} could not be started: ${message}`, {
      location: call.location,
      cause: error,
    });
  }
  if (result.timedOut) {
    throw new RenderError(
      ErrorCodes.RenderToolFailed,
      `${call.tool} did not finish within ${options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS} ms`,
      { location: call.location },
    );
  }
  if (result.outputLimited) {
    throw new RenderError(
      ErrorCodes.RenderToolFailed,
      `${call.tool} wrote more than ${options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES} bytes`,
      { location: call.location },
    );
  }
  if (result.code !== 0) {
    const message = cleanToolMessage(result.stderr, call.replacements);
    throw new RenderError(ErrorCodes.RenderToolFailed, `${call.tool} failed: ${message}`, {
      location: call.locate?.(message) ?? call.location,
    });
  }
  return result.stdout;
}
