import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createMessage, generateKey, readPrivateKey, sign } from 'openpgp';

const exec = promisify(execFile);

const created: string[] = [];

/** A temporary folder, removed by {@link removeTempDirs}. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `gitops-kit-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Removes every folder {@link tempDir} made (call from `afterAll`); retries while a source's background link copy still writes. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5 })));
}

/** A working clone driven with the git CLI, pushing over HTTP with credentials in the URL. */
export class WorkClone {
  readonly dir: string;
  readonly #pushUrl: string;
  #time = 1_700_000_000;

  private constructor(dir: string, pushUrl: string) {
    this.dir = dir;
    this.#pushUrl = pushUrl;
  }

  /** An empty work tree whose pushes go to `url` with the given basic credentials. */
  static async create(url: string, username: string, password: string): Promise<WorkClone> {
    const dir = await tempDir('work');
    const push = new URL(url);
    push.username = username;
    push.password = password;
    const clone = new WorkClone(dir, push.toString());
    await clone.git('init', '--quiet', '--initial-branch=main');
    return clone;
  }

  /** Runs git in the work tree with a fixed identity and clock; returns trimmed stdout. */
  async git(...args: string[]): Promise<string> {
    this.#time += 60;
    const date = `${this.#time} +0000`;
    const { stdout } = await exec(
      'git',
      ['-c', 'user.name=Test Author', '-c', 'user.email=author@example.com', ...args],
      {
        cwd: this.dir,
        env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date, GIT_TERMINAL_PROMPT: '0' },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return stdout.trim();
  }

  /** Writes a file (creating folders). */
  async write(path: string, content: string): Promise<void> {
    const abs = join(this.dir, path);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }

  /** Stages everything and commits; returns the new commit id. */
  async commit(message: string): Promise<string> {
    await this.git('add', '-A');
    await this.git('commit', '--quiet', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }

  /** Pushes refspecs (add `--force` yourself when needed). */
  async push(...refspecs: string[]): Promise<void> {
    await this.git('push', '--quiet', this.#pushUrl, ...refspecs);
  }

  /** Writes a raw object and returns its id. */
  async writeObject(type: 'commit' | 'tag', content: string): Promise<string> {
    const file = join(this.dir, '.git', `raw-${type}`);
    await writeFile(file, content);
    return this.git('hash-object', '-t', type, '-w', file);
  }
}

/** An OpenPGP key pair for signing test commits. */
export interface TestKey {
  readonly publicKey: string;
  readonly privateKey: string;
}

/** Generates an Ed25519 key pair. */
export async function testKey(name: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKey({
    userIDs: [{ name, email: `${name.toLowerCase().replace(/\s+/g, '.')}@example.com` }],
    type: 'ecc',
    format: 'armored',
  });
  return { publicKey, privateKey };
}

/** A detached armored signature over `payload`. */
export async function signPayload(payload: string, key: TestKey): Promise<string> {
  const signingKeys = await readPrivateKey({ armoredKey: key.privateKey });
  const message = await createMessage({ binary: new TextEncoder().encode(payload) });
  return (await sign({ message, signingKeys, detached: true, format: 'armored' })) as string;
}

/** Re-creates HEAD as a commit signed with `key` (as `git commit -S` would) and moves the branch. */
export async function signHead(work: WorkClone, key: TestKey, branch = 'main'): Promise<string> {
  const raw = `${await work.git('cat-file', 'commit', 'HEAD')}\n`;
  const signature = (await signPayload(raw, key)).trim();
  const split = raw.indexOf('\n\n');
  const header = `gpgsig ${signature.split('\n').join('\n ')}`;
  const signed = `${raw.slice(0, split)}\n${header}${raw.slice(split)}`;
  const oid = await work.writeObject('commit', signed);
  await work.git('update-ref', `refs/heads/${branch}`, oid);
  return oid;
}

/** Creates an annotated tag on `target`, signed with `key` when given. Returns the tag object id. */
export async function annotatedTag(
  work: WorkClone,
  name: string,
  target: string,
  key?: TestKey,
): Promise<string> {
  let body = `object ${target}\ntype commit\ntag ${name}\ntagger Test Tagger <tagger@example.com> 1700000000 +0000\n\nRelease ${name}\n`;
  if (key) body += await signPayload(body, key);
  const oid = await work.writeObject('tag', body);
  await work.git('update-ref', `refs/tags/${name}`, oid);
  return oid;
}
