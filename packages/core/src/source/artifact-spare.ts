import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { linkAll, type StoredFile } from './artifact-links.js';

/** The folder prefix of spare copies inside a store (a dot name: never taken for an artifact). */
export const SPARE_PREFIX = '.next-';

/** Options of {@link SpareCopies.prepare}. */
export interface PrepareSpareOptions {
  /** How long after the call the copy starts (default 1000 ms). */
  readonly delayMs?: number | undefined;
  /** Which recorded files Node may link one by one where `cp` is missing (default all). */
  readonly isRegular?: ((file: StoredFile) => boolean) | undefined;
}

/**
 * Hard-link copies of the newest artifact, made in the background, so the next build (a new
 * revision) starts from a full folder instead of linking thousands of files while the caller
 * waits. A copy starts a moment after the build, so a poll right after it does not compete for the
 * disk, and a process that exits sooner never starts it; a build that needs it earlier starts it at
 * once. It is made under a temporary name and renamed when complete, so a spare folder is always
 * whole, and any process sharing the store may take it. Internal to the artifact store.
 */
export class SpareCopies {
  readonly #root: string;
  #pending: { readonly name: string; readonly ready: Promise<unknown>; readonly now: () => void } | undefined;

  /** Spares in the store folder `root`. */
  constructor(root: string) {
    this.#root = root;
  }

  /** The folder where the copy of artifact `name` waits. */
  dirOf(name: string): string {
    return join(this.#root, `${SPARE_PREFIX}${name}`);
  }

  /** Starts (after the delay) a linked copy of artifact folder `dir`, named `name`, holding `files`. */
  prepare(name: string, dir: string, files: readonly StoredFile[], options: PrepareSpareOptions = {}): void {
    if (this.#pending?.name === name) return;
    const target = this.dirOf(name);
    const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
    let begin: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      begin = resolve;
    });
    const timer = setTimeout(begin, options.delayMs ?? 1000);
    timer.unref();
    const ready = started
      .then(async () => {
        if (existsSync(target) || !existsSync(dir)) return;
        await mkdir(partial, { recursive: true });
        if (await linkAll(dir, files, partial, options.isRegular)) await rename(partial, target);
      })
      .catch(() => undefined)
      .finally(() => rm(partial, { recursive: true, force: true }).catch(() => undefined));
    this.#pending = {
      name,
      ready,
      now: () => {
        clearTimeout(timer);
        begin();
      },
    };
  }

  /** Whether a copy of `name` is prepared or under way in this process. */
  isPending(): boolean {
    return this.#pending !== undefined;
  }

  /** Moves the copy of `name` onto the (empty) folder `into`; false when there is none. */
  async take(name: string, into: string): Promise<boolean> {
    if (this.#pending?.name === name) {
      this.#pending.now();
      await this.#pending.ready;
      this.#pending = undefined;
    }
    try {
      await rename(this.dirOf(name), into);
      return true;
    } catch {
      return false;
    }
  }

  /** Starts the pending copy at once and waits for it. */
  async settled(): Promise<void> {
    this.#pending?.now();
    await this.#pending?.ready;
  }
}
