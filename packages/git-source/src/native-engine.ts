import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CatFileBatch } from './cat-file.js';
import type { FetchRequest, GitEngine, GitObject, RemoteContext, TreeFile } from './engine.js';
import { TransportError } from './errors.js';
import { IsomorphicGitEngine } from './iso-engine.js';
import type { RemoteRef } from './ref.js';
import { parseTree, type TreeEntry, TreeListingCache } from './tree-cache.js';

/** Up to this many files are written from Node; more go through `git checkout-index`. */
const FEW_FILES = 64;

/** Options for {@link NativeGitEngine}. */
export interface NativeGitEngineOptions {
  /** The git program (default `git` on the PATH). */
  readonly gitPath?: string;
  /**
   * Used for `ssh://` and `git@host:` URLs, e.g. `ssh -i key -o StrictHostKeyChecking=yes`. Without
   * it (and without `GIT_SSH_COMMAND`/`GIT_SSH` in the environment) the engine runs `ssh` with
   * `ConnectTimeout` and `ServerAliveInterval` set from the source's `timeoutMs`; with it, bounding
   * the wait is the command's business (add those options).
   */
  readonly sshCommand?: string;
}

interface RunOptions {
  readonly input?: Buffer | string;
  readonly env?: Record<string, string>;
  readonly signal?: AbortSignal;
  readonly cwd?: string;
}

interface RunResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly code: number;
}

/** Classifies a failed git command by its message. */
function classify(stderr: string): TransportError {
  const text = stderr.trim().split('\n').slice(-3).join(' ');
  // curl's low-speed check (see `#remoteEnv`): the server stayed silent too long.
  if (
    /Operation too slow|Operation timed out|Connection timed out|timed out during banner|server not responding/i.test(
      stderr,
    )
  )
    return new TransportError('timeout', text);
  if (
    /Authentication failed|HTTP 401|HTTP 403|could not read Username|terminal prompts disabled/i.test(stderr)
  ) {
    return new TransportError('auth', 'the server refused the credentials');
  }
  if (/repository .* not found|HTTP 404/i.test(stderr))
    return new TransportError('not-found', 'repository not found');
  if (
    /Could not resolve host|Failed to connect|Connection refused|unable to access|timed out/i.test(stderr)
  ) {
    return new TransportError('network', text);
  }
  return new TransportError('protocol', text);
}

/**
 * An engine driving the native `git` program: much faster on big repositories (C packfile
 * indexing, `checkout-index`), and it can use SSH. Credentials go through environment variables
 * (`GIT_CONFIG_*`), never the command line, so they do not show in process lists.
 */
export class NativeGitEngine implements GitEngine {
  /** This engine's name, `native` (see {@link GitEngine.name}). */
  readonly name = 'native' as const;
  readonly #git: string;
  readonly #sshCommand: string | undefined;
  /** Ref listing over HTTP without starting a process. */
  readonly #http = new IsomorphicGitEngine();
  /** One object reader per repository. */
  readonly #readers = new Map<string, CatFileBatch>();
  /** The last tree listing per repository, so the next one reads only changed folders. */
  readonly #listings = new Map<string, TreeListingCache>();

  /** @param options the git program and SSH command. */
  constructor(options: NativeGitEngineOptions = {}) {
    this.#git = options.gitPath ?? 'git';
    this.#sshCommand = options.sshCommand;
  }

  /** Whether the git program can be run. */
  async available(): Promise<boolean> {
    try {
      const result = await this.#run(['--version']);
      return result.code === 0;
    } catch {
      return false;
    }
  }

  #run(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.#git, args, {
        env: {
          ...process.env,
          GIT_TERMINAL_PROMPT: '0',
          GIT_CONFIG_NOSYSTEM: '1',
          LC_ALL: 'C',
          ...(options.env ?? {}),
        },
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.on('error', reject);
      child.on('close', (code) =>
        resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString(), code: code ?? 1 }),
      );
      child.stdin.on('error', () => {
        // The process may exit before reading all its input; its exit code tells what happened.
      });
      child.stdin.end(options.input);
    });
  }

  async #checked(args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
    const result = await this.#run(args, options);
    if (result.code !== 0)
      throw new Error(`git ${args[0] === '--git-dir' ? args[2] : args[0]}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** Environment carrying headers, CA and SSH command as git configuration. */
  async #remoteEnv(context: RemoteContext, gitdir: string | undefined): Promise<Record<string, string>> {
    const pairs: [string, string][] = [
      ['credential.helper', ''],
      ['protocol.version', '2'],
    ];
    for (const [name, value] of Object.entries(context.headers))
      pairs.push(['http.extraHeader', `${name}: ${value}`]);
    const env: Record<string, string> = { GIT_CONFIG_COUNT: String(pairs.length) };
    if (context.caCert) {
      const dir = gitdir ?? (await mkdtemp(join(process.env.TMPDIR ?? '/tmp', 'gitops-kit-ca-')));
      const file = join(dir, 'gitops-kit-ca.pem');
      await writeFile(file, context.caCert);
      // The environment variable, not `http.sslCAInfo`: git 2.39 with libcurl-gnutls ignored the
      // configuration key here while honouring the variable.
      env.GIT_SSL_CAINFO = file;
    }
    pairs.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    // Bounds every wait on an HTTP server: git (curl) gives up when less than 1 byte a second
    // arrives for the whole timeout, from connecting to the last byte.
    const seconds = Math.max(1, Math.ceil((context.timeoutMs ?? 60_000) / 1000));
    if (this.#sshCommand) env.GIT_SSH_COMMAND = this.#sshCommand;
    else if (!process.env.GIT_SSH_COMMAND && !process.env.GIT_SSH) {
      // And on an SSH server: connection and banner, then a keep-alive that must be answered.
      env.GIT_SSH_COMMAND = `ssh -o ConnectTimeout=${seconds} -o ServerAliveInterval=${seconds} -o ServerAliveCountMax=1`;
    }
    env.GIT_HTTP_LOW_SPEED_LIMIT = '1';
    env.GIT_HTTP_LOW_SPEED_TIME = String(seconds);
    return env;
  }

  /**
   * Lists refs. Over HTTP(S) this asks the server directly from JavaScript (one or two small
   * requests, no process to start), which keeps polls cheap; SSH URLs go through `git ls-remote`.
   */
  async listRemoteRefs(context: RemoteContext, prefix: string | undefined): Promise<RemoteRef[]> {
    if (/^https?:\/\//i.test(context.url)) return this.#http.listRemoteRefs(context, prefix);
    return this.#lsRemote(context, prefix);
  }

  /** `git ls-remote` with the prefix as a pattern (protocol v2 sends it to the server). */
  async #lsRemote(context: RemoteContext, prefix: string | undefined): Promise<RemoteRef[]> {
    const env = await this.#remoteEnv(context, undefined);
    const args = ['ls-remote', context.url];
    if (prefix) args.push(prefix.endsWith('/') ? `${prefix}*` : prefix);
    const result = await this.#run(args, { env, signal: context.signal });
    if (result.code !== 0) throw classify(result.stderr);
    const byName = new Map<string, { oid: string; peeled?: string }>();
    for (const line of result.stdout.toString().split('\n')) {
      const [oid, name] = line.split('\t');
      if (!oid || !name) continue;
      if (name.endsWith('^{}')) {
        const base = name.slice(0, -3);
        const entry = byName.get(base);
        if (entry) entry.peeled = oid;
      } else byName.set(name, { oid });
    }
    const refs: RemoteRef[] = [];
    for (const [name, entry] of byName) {
      if (prefix && !(prefix.endsWith('/') ? name.startsWith(prefix) : name === prefix)) continue;
      refs.push({ name, oid: entry.oid, peeled: entry.peeled });
    }
    return refs;
  }

  /** `git init --bare` when the repository does not exist. */
  async ensureRepo(gitdir: string, _url: string): Promise<void> {
    if (!existsSync(join(gitdir, 'HEAD'))) {
      await mkdir(gitdir, { recursive: true });
      await this.#checked(['init', '--bare', '--quiet', gitdir]);
    }
    // The refs are listed next: start the object reader meanwhile.
    this.#reader(gitdir).warm();
  }

  #reader(gitdir: string): CatFileBatch {
    let reader = this.#readers.get(gitdir);
    if (!reader) {
      reader = new CatFileBatch(this.#git, gitdir, { ...process.env, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' });
      this.#readers.set(gitdir, reader);
    }
    return reader;
  }

  /** Whether the object is there, through the shared `cat-file --batch` process. */
  async hasObject(gitdir: string, oid: string): Promise<boolean> {
    return (await this.#reader(gitdir).read(oid)) !== undefined;
  }

  /** `git fetch --depth 1 <url> +ref:ref`, or every branch and tag with full history. */
  async fetch(context: RemoteContext, gitdir: string, request: FetchRequest): Promise<void> {
    const env = await this.#remoteEnv(context, gitdir);
    const args = ['--git-dir', gitdir, 'fetch', '--no-tags', '--quiet', '--no-write-fetch-head'];
    if (request.depth) args.push(`--depth=${request.depth}`);
    else if (existsSync(join(gitdir, 'shallow'))) args.push('--unshallow');
    args.push(context.url);
    const byName = request.refName
      ? [`+${request.refName}:${request.refName}`]
      : ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];
    context.onProgress?.({ phase: 'fetching', loaded: 0 });
    let result: RunResult | undefined;
    if (request.refName && request.commit && /^[0-9a-f]{40}$/.test(request.commit)) {
      // Asking for the commit itself lets git skip listing the server's refs (protocol v2 serves
      // any object); a server that refuses gets the request by name below.
      result = await this.#run([...args, `+${request.commit}:${request.refName}`], {
        env,
        signal: context.signal,
      });
      if (result.code !== 0 && classify(result.stderr).kind !== 'protocol') throw classify(result.stderr);
    }
    if (result?.code !== 0) result = await this.#run([...args, ...byName], { env, signal: context.signal });
    if (result.code !== 0) throw classify(result.stderr);
    context.onProgress?.({ phase: 'fetched', loaded: 1, total: 1 });
  }

  /** Reads an object through the shared `cat-file --batch` process. */
  async readObject(gitdir: string, oid: string): Promise<GitObject> {
    const object = await this.#reader(gitdir).read(oid);
    if (!object) throw new Error(`object ${oid} is missing`);
    return object;
  }

  /** `git rev-parse <tree>:<path>`, checked to be a tree with `cat-file -t`. */
  async subtree(gitdir: string, treeOid: string, path: string): Promise<string | undefined> {
    const parsed = await this.#run([
      '--git-dir',
      gitdir,
      'rev-parse',
      '--verify',
      '--quiet',
      `${treeOid}:${path}`,
    ]);
    const oid = parsed.stdout.toString().trim();
    if (parsed.code !== 0 || !oid) return undefined;
    const type = await this.#run(['--git-dir', gitdir, 'cat-file', '-t', oid]);
    return type.code === 0 && type.stdout.toString().trim() === 'tree' ? oid : undefined;
  }

  /**
   * The first listing is one `git ls-tree -r -t -l -z` (every file with its size, and the folder
   * ids); later ones read only the folders whose ids changed, through the object reader, and take
   * the rest from the previous listing, so a new commit starts no process here.
   */
  async listFiles(gitdir: string, treeOid: string, signal: AbortSignal): Promise<TreeFile[]> {
    let cache = this.#listings.get(gitdir);
    if (!cache) {
      cache = new TreeListingCache();
      this.#listings.set(gitdir, cache);
    }
    if (!cache.empty) {
      return cache.list(
        treeOid,
        async (oid) => parseTree((await this.readObject(gitdir, oid)).content),
        signal,
      );
    }
    const out = await this.#checked(['--git-dir', gitdir, 'ls-tree', '-r', '-t', '-l', '-z', treeOid], {
      signal,
    });
    const entries: (TreeEntry & { size: number | undefined })[] = [];
    for (const record of out.toString().split('\0')) {
      if (!record) continue;
      const tab = record.indexOf('\t');
      const [mode, type, oid, size] = record.slice(0, tab).split(/ +/);
      entries.push({
        path: record.slice(tab + 1),
        mode: mode as string,
        type: type as TreeEntry['type'],
        oid: oid as string,
        size: size === '-' ? undefined : Number(size),
      });
    }
    cache.seed(treeOid, entries);
    // Sorted like the listings after it, whatever git's own order.
    return entries
      .filter((e) => e.type !== 'tree')
      .map((e) => ({ path: e.path, mode: e.mode, oid: e.oid, size: e.size }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Reads a blob through the shared `cat-file --batch` process. */
  async readBlob(gitdir: string, oid: string): Promise<Uint8Array> {
    return (await this.readObject(gitdir, oid)).content;
  }

  /**
   * Writes files. A few (the usual incremental update) are read through the object reader and
   * written from here, which starts no process; many get a private index holding exactly those
   * files, and `git checkout-index` writes them in C. The index lives beside, never inside, the
   * destination.
   */
  async writeFiles(
    gitdir: string,
    files: readonly TreeFile[],
    destDir: string,
    signal: AbortSignal,
  ): Promise<void> {
    if (files.length <= FEW_FILES) {
      for (const file of files) {
        signal.throwIfAborted();
        const target = join(destDir, file.path);
        await mkdir(dirname(target), { recursive: true });
        const content = await this.readBlob(gitdir, file.oid);
        if (file.mode === '120000') await symlink(Buffer.from(content).toString(), target);
        else await writeFile(target, content, { mode: file.mode === '100755' ? 0o755 : 0o644 });
      }
      return;
    }
    const scratch = await mkdtemp(`${destDir}.index-`);
    try {
      const env = { GIT_INDEX_FILE: join(scratch, 'index') };
      const input = files.map((f) => `${f.mode} ${f.oid}\t${f.path}\0`).join('');
      await this.#checked(['--git-dir', gitdir, 'update-index', '-z', '--index-info'], {
        input,
        env,
        signal,
      });
      await mkdir(destDir, { recursive: true });
      await this.#checked(['--git-dir', gitdir, '--work-tree', destDir, 'checkout-index', '-a', '-f'], {
        env,
        signal,
        cwd: destDir,
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}
