import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

interface Pending {
  readonly oid: string;
  readonly resolve: (object: { type: string; content: Buffer } | undefined) => void;
  readonly reject: (error: Error) => void;
}

/**
 * One `git cat-file --batch` process serving many object reads in order, so a fetch that reads a
 * commit, a few `.sourceignore` files and link targets starts one process instead of one per
 * object. While no read is pending the process is unreferenced (it never keeps a program alive),
 * and it exits after an idle time.
 */
export class CatFileBatch {
  readonly #git: string;
  readonly #gitdir: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #idleMs: number;
  #child: ChildProcessWithoutNullStreams | undefined;
  #pending: Pending[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #idle: NodeJS.Timeout | undefined;

  /** @param git the git program; @param gitdir the repository; @param idleMs exit after this long unused. */
  constructor(git: string, gitdir: string, env: NodeJS.ProcessEnv, idleMs = 5000) {
    this.#git = git;
    this.#gitdir = gitdir;
    this.#env = env;
    this.#idleMs = idleMs;
  }

  /** Reads an object; undefined when the repository does not have it. */
  read(oid: string): Promise<{ type: string; content: Buffer } | undefined> {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = undefined;
    const child = this.#start();
    this.#hold(child, true);
    return new Promise((resolve, reject) => {
      this.#pending.push({ oid, resolve, reject });
      child.stdin.write(`${oid}\n`);
    });
  }

  /** Starts the process ahead of the first read, so that read does not wait for it. */
  warm(): void {
    if (this.#child) return;
    this.#hold(this.#start(), false);
    this.#idle = setTimeout(() => this.close(), this.#idleMs);
    this.#idle.unref();
  }

  /** Keeps the event loop alive for the process only while reads are pending. */
  #hold(child: ChildProcessWithoutNullStreams, hold: boolean): void {
    // Pipes are sockets, which can be referenced and unreferenced like the process.
    const handles = [child, child.stdout, child.stdin, child.stderr] as unknown as {
      ref?(): unknown;
      unref?(): unknown;
    }[];
    for (const handle of handles) {
      if (hold) handle.ref?.();
      else handle.unref?.();
    }
  }

  /** Ends the process (pending reads fail). */
  close(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = undefined;
    this.#child?.stdin.end();
    this.#child = undefined;
  }

  #start(): ChildProcessWithoutNullStreams {
    if (this.#child) return this.#child;
    const child = spawn(this.#git, ['--git-dir', this.#gitdir, 'cat-file', '--batch'], {
      env: this.#env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#buffer = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
      this.#drain();
    });
    child.stderr.resume();
    child.stdin.on('error', () => {
      // The exit handler reports the failure to whoever waits.
    });
    const fail = (error: Error): void => {
      if (this.#child === child) this.#child = undefined;
      for (const p of this.#pending.splice(0)) p.reject(error);
    };
    child.on('error', fail);
    child.on('close', (code) => fail(new Error(`git cat-file exited (${code ?? 'signal'})`)));
    return child;
  }

  /** Answers the pending reads whose replies are complete in the buffer. */
  #drain(): void {
    for (;;) {
      const head = this.#pending[0];
      if (!head) break;
      const newline = this.#buffer.indexOf(10);
      if (newline < 0) return;
      const header = this.#buffer.subarray(0, newline).toString('latin1').split(' ');
      if (header[1] === 'missing' || header[1] === 'ambiguous') {
        this.#buffer = this.#buffer.subarray(newline + 1);
        this.#pending.shift();
        head.resolve(undefined);
        continue;
      }
      const size = Number(header[2]);
      if (this.#buffer.length < newline + 1 + size + 1) return;
      const content = Buffer.from(this.#buffer.subarray(newline + 1, newline + 1 + size));
      this.#buffer = this.#buffer.subarray(newline + 1 + size + 1);
      this.#pending.shift();
      head.resolve({ type: header[1] as string, content });
    }
    if (this.#pending.length === 0) {
      if (this.#child) this.#hold(this.#child, false);
      this.#idle = setTimeout(() => this.close(), this.#idleMs);
      this.#idle.unref();
    }
  }
}
