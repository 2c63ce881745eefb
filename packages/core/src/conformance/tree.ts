import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A fingerprint of a folder (every file's path, kind and content hash), so a check can tell
 * whether an artifact changed after it was handed out. Undefined when the folder is gone.
 */
export async function fingerprintTree(dir: string): Promise<string | undefined> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  const lines: string[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        lines.push(`d ${rel}`);
        await walk(path, rel);
      } else if (entry.isSymbolicLink()) {
        lines.push(`l ${rel} ${await readlink(path)}`);
      } else {
        const sha = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
        lines.push(`f ${rel} ${sha}`);
      }
    }
  };
  await walk(dir, '');
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}
