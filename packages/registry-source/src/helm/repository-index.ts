import { parse } from 'yaml';

/** One chart version as a repository's `index.yaml` lists it. Internal. */
export interface IndexEntry {
  readonly name: string;
  readonly version: string;
  /** `sha256` hex of the chart archive (absent in hand-written indexes). */
  readonly digest?: string | undefined;
  /** Where the archive is, absolute or relative to the index. */
  readonly urls: readonly string[];
}

/** A parsed `index.yaml`: chart name → its versions. Internal. */
export type RepositoryIndex = ReadonlyMap<string, readonly IndexEntry[]>;

/** Why an index was refused. */
export class IndexProblem extends Error {}

/** Reads `index.yaml` (apiVersion v1, `entries` by chart name). Throws {@link IndexProblem}. */
export function parseRepositoryIndex(text: string): RepositoryIndex {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new IndexProblem(`index.yaml is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (!doc || typeof doc !== 'object' || !entries || typeof entries !== 'object') {
    throw new IndexProblem('index.yaml has no "entries" mapping');
  }
  const index = new Map<string, IndexEntry[]>();
  for (const [name, list] of Object.entries(entries as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    const versions: IndexEntry[] = [];
    for (const item of list) {
      const e = item as { version?: unknown; digest?: unknown; urls?: unknown };
      if (typeof e?.version !== 'string' && typeof e?.version !== 'number') continue;
      const urls = Array.isArray(e.urls) ? e.urls.filter((u): u is string => typeof u === 'string') : [];
      versions.push({
        name,
        version: String(e.version),
        digest: typeof e.digest === 'string' ? e.digest : undefined,
        urls,
      });
    }
    index.set(name, versions);
  }
  return index;
}

/** The absolute URL of an entry's archive (its first URL, resolved against the index URL). */
export function archiveUrl(entry: IndexEntry, indexUrl: string): string | undefined {
  const first = entry.urls[0];
  return first === undefined ? undefined : new URL(first, indexUrl).toString();
}
