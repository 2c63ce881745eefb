import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The sample application shipped with the demo (`examples/quickstart/app`), from `src/` or `dist/`. */
export const SAMPLE_APP_DIR = fileURLToPath(new URL('../app', import.meta.url));

/**
 * A working copy of the sample app in a temporary folder: the demo edits it like a person editing
 * their repository, and the `DirectorySource` watching it sees each edit as a new revision.
 */
export class AppFolder {
  /** Absolute path of the working copy. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Copies the sample app into a new temporary folder. */
  static async create(from: string = SAMPLE_APP_DIR): Promise<AppFolder> {
    const dir = await mkdtemp(join(tmpdir(), 'gitops-kit-quickstart-'));
    await cp(from, dir, { recursive: true });
    return new AppFolder(dir);
  }

  /**
   * Replaces text in a file, failing loudly when the text is not there (the sample changed and
   * the demo would otherwise tell a story that did not happen).
   */
  async replace(file: string, search: string, replacement: string): Promise<void> {
    const path = join(this.dir, file);
    const text = await readFile(path, 'utf8');
    if (!text.includes(search)) throw new Error(`quickstart: "${search}" not found in ${file}`);
    await writeFile(path, text.replace(search, replacement));
  }

  /** Writes a new file. */
  async write(file: string, text: string): Promise<void> {
    await writeFile(join(this.dir, file), text);
  }

  /** Deletes a file. */
  async remove(file: string): Promise<void> {
    await rm(join(this.dir, file));
  }

  /** Deletes the working copy. */
  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
