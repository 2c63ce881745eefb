import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { folder } from './tofu-env.js';

const run = promisify(execFile);

/** A work tree pushing to a test repository with the git CLI (credentials only in the push URL). */
export class GitWork {
  readonly #dir: string;
  readonly #push: string;

  private constructor(dir: string, push: string) {
    this.#dir = dir;
    this.#push = push;
  }

  /** An empty work tree whose pushes go to `url`. */
  static async create(url: string, username: string, password: string): Promise<GitWork> {
    const dir = await folder('git');
    const push = new URL(url);
    push.username = username;
    push.password = password;
    const work = new GitWork(dir, push.toString());
    await work.git('init', '--quiet', '--initial-branch=main');
    return work;
  }

  /** Runs git in the work tree. */
  async git(...args: string[]): Promise<string> {
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: 'Infra Author',
      GIT_AUTHOR_EMAIL: 'infra@example.com',
      GIT_COMMITTER_NAME: 'Infra Author',
      GIT_COMMITTER_EMAIL: 'infra@example.com',
    };
    return (await run('git', args, { cwd: this.#dir, env })).stdout.trim();
  }

  /** Writes files, commits them all, pushes main; returns the commit. */
  async commit(
    files: Record<string, string>,
    message: string,
    remove: readonly string[] = [],
  ): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(this.#dir, path)), { recursive: true });
      await writeFile(join(this.#dir, path), content);
    }
    for (const path of remove) await this.git('rm', '--quiet', path);
    await this.git('add', '--all');
    await this.git('commit', '--quiet', '-m', message);
    await this.git('push', '--quiet', this.#push, 'main');
    return this.git('rev-parse', 'HEAD');
  }
}
