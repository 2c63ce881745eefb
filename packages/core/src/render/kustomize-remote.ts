import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorCodes, RenderError } from '../errors.js';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from '../lazy-yaml.js';
import { KUBECTL_YAML_OPTIONS } from './parse.js';

/**
 * Content of a repository must not make the reconciler open connections: a kustomization that names
 * a remote base (`github.com/org/repo//path?ref=x`, `https://…`, `git@host:…`, `ssh://…`), a patch
 * or generator file by URL, or a Helm chart from a repository makes kustomize fetch it. This module
 * reads every kustomization reachable from the root one (following local folders) before kustomize
 * runs and refuses remote references, unless their host is explicitly allowed.
 */

/** The kustomization file names, in kustomize's order of preference. */
const FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Fields whose entries are resources: a file, a local kustomization folder or a remote base. */
const TARGET_FIELDS = ['resources', 'bases', 'components', 'generators', 'transformers', 'validators'];

/** One remote reference found in a kustomization. */
export interface RemoteReference {
  /** The kustomization file, relative to the artifact root. */
  readonly file: string;
  /** One-based line of the entry. */
  readonly line: number;
  /** The field it is listed under (`resources`, `helmCharts.repo`, `patches.path`, …). */
  readonly field: string;
  /** The reference, with any user name or password in it replaced by `***`. */
  readonly url: string;
  /** The host it would connect to, when one can be told (lower case). */
  readonly host: string | undefined;
}

/** A string entry of a kustomization with its line. */
interface Entry {
  readonly field: string;
  readonly value: string;
  readonly line: number;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
/** `git@github.com:org/repo`, the scp-like form Git accepts. */
const SCP_LIKE = /^[^@/\s:]+@([^:/\s]+):/;
/** A first path segment that is a host name (`github.com`, `git.example.com:8443`). */
const HOST_SEGMENT = /^([a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::\d+)?$/i;

/** The query parameters kustomize itself reads from a remote target; any other value may be a token. */
const KUSTOMIZE_PARAMS = new Set(['ref', 'version', 'timeout', 'submodules']);

/**
 * Replaces user info (`user:token@`) and query values other than kustomize's own (`?ref=v1`) in a
 * reference, so the message never carries a credential.
 */
function redact(url: string): string {
  const withoutUser = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
  return withoutUser.replace(/([?&])([^=&#]+)=([^&#]*)/g, (all, sep: string, key: string) =>
    KUSTOMIZE_PARAMS.has(key) ? all : `${sep}${key}=***`,
  );
}

/**
 * The host a reference connects to, or `undefined` when it is not remote. `exists` says whether
 * the reference names a file or folder of the artifact: kustomize loads a local path first, so a
 * folder that happens to be called `github.com/…` stays local.
 */
export function remoteHost(reference: string, exists: boolean): string | false | undefined {
  const value = reference.replace(/^git::/, '');
  const scheme = SCHEME.exec(value);
  if (scheme) {
    try {
      return new URL(value).hostname.toLowerCase() || false;
    } catch {
      return false;
    }
  }
  if (/^gh:/.test(value)) return 'github.com';
  const scp = SCP_LIKE.exec(value);
  if (scp?.[1]) return scp[1].toLowerCase();
  if (exists) return undefined;
  const first = value.split('/')[0] ?? '';
  const host = HOST_SEGMENT.exec(first);
  if (host?.[1] && (value.includes('/') || value.includes('?'))) return host[1].toLowerCase();
  // kustomize reads `//` and `?ref=` as a repository path and version whatever the host looks like.
  if (!isAbsolute(value) && (value.includes('//') || /[?&]ref=/.test(value))) return false;
  return undefined;
}

/** True when `host` is on the allow-list: an exact name, or `*.example.com` for its subdomains. */
function allowed(host: string | false | undefined, allowHosts: readonly string[]): boolean {
  if (!host) return false;
  return allowHosts.some((entry) => {
    const pattern = entry.toLowerCase();
    return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern;
  });
}

/** The string entries of the fields that name files, folders, URLs or chart repositories. */
function entriesOf(doc: ReturnType<typeof parseDocument>, lines: LineCounter): Entry[] {
  const entries: Entry[] = [];
  const lineOf = (node: Node): number => lines.linePos(node.range?.[0] ?? 0).line;
  const push = (field: string, node: unknown): void => {
    if (isScalar(node) && typeof node.value === 'string')
      entries.push({ field, value: node.value, line: lineOf(node) });
  };
  const list = (node: unknown, each: (item: unknown) => void): void => {
    if (isSeq(node)) for (const item of node.items) each(item);
    else if (node !== undefined && node !== null) each(node);
  };
  const root = doc.contents;
  if (!isMap(root)) return entries;
  for (const field of TARGET_FIELDS) list(root.get(field, true), (item) => push(field, item));
  for (const field of ['configurations', 'crds', 'patchesStrategicMerge'])
    list(root.get(field, true), (item) => push(field, item));
  for (const field of ['patches', 'patchesJson6902', 'replacements']) {
    list(root.get(field, true), (item) => {
      if (isMap(item)) push(`${field}.path`, item.get('path', true));
    });
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    list(root.get(field, true), (item) => {
      if (!isMap(item)) return;
      for (const key of ['files', 'envs']) {
        list(item.get(key, true), (file) => {
          // `key=path` names the data key; the path is what is loaded.
          if (isScalar(file) && typeof file.value === 'string') {
            entries.push({
              field: `${field}.${key}`,
              value: file.value.replace(/^[^=/]*=/, ''),
              line: lineOf(file),
            });
          }
        });
      }
      push(`${field}.env`, item.get('env', true));
    });
  }
  const openapi = root.get('openapi', true);
  if (isMap(openapi)) push('openapi.path', openapi.get('path', true));
  list(root.get('helmCharts', true), (item) => {
    if (isMap(item)) push('helmCharts.repo', item.get('repo', true));
  });
  return entries;
}

/** The kustomization file of a folder, if any. */
async function kustomizationIn(dir: string): Promise<string | undefined> {
  for (const name of FILES) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) return join(dir, name);
  }
  return undefined;
}

/** Every remote reference in the kustomization at `dir` and in the local ones it includes. */
export async function findRemoteReferences(root: string, dir: string): Promise<RemoteReference[]> {
  const found: RemoteReference[] = [];
  const visited = new Set<string>();
  const relOf = (abs: string): string => relative(root, abs).split(sep).join('/');
  const inside = (abs: string): boolean => abs === root || abs.startsWith(`${root}${sep}`);

  const visit = async (folder: string): Promise<void> => {
    const file = await kustomizationIn(folder);
    if (!file || visited.has(file)) return;
    visited.add(file);
    const text = await readFile(file, 'utf8');
    const lines = new LineCounter();
    const doc = parseDocument(text, { ...KUBECTL_YAML_OPTIONS, lineCounter: lines });
    const error = doc.errors[0];
    if (error) {
      // kustomize's parser might read what ours cannot, and then fetch: refuse what is not checked.
      throw new RenderError(
        ErrorCodes.RenderYamlInvalid,
        `kustomization is not valid YAML: ${error.message}`,
        {
          location: { file: relOf(file), line: lines.linePos(error.pos[0]).line },
        },
      );
    }
    for (const entry of entriesOf(doc, lines)) {
      // An inline patch (a YAML text in `patchesStrategicMerge`) is content, not a reference.
      if (entry.value.includes('\n')) continue;
      const isChartRepo = entry.field === 'helmCharts.repo';
      const local = isChartRepo
        ? undefined
        : await realpath(resolve(dirname(file), entry.value)).catch(() => undefined);
      const exists = local !== undefined && inside(local);
      const host = isChartRepo ? (remoteHost(entry.value, false) ?? false) : remoteHost(entry.value, exists);
      if (host !== undefined) {
        found.push({
          file: relOf(file),
          line: entry.line,
          field: entry.field,
          url: redact(entry.value),
          host: host || undefined,
        });
        continue;
      }
      if (exists && TARGET_FIELDS.includes(entry.field.split('.')[0] ?? '')) {
        const info = await stat(local).catch(() => undefined);
        if (info?.isDirectory()) await visit(local);
      }
    }
  };
  await visit(await realpath(dir).catch(() => dir));
  return found;
}

/**
 * Refuses a kustomization tree that names a remote resource, base, component, file or Helm chart
 * whose host is not in `allowHosts`, with a `RenderError` `RENDER_REMOTE_RESOURCE` naming the
 * kustomization file, the line and the (credential-free) reference.
 */
export async function assertNoRemoteResources(
  root: string,
  dir: string,
  allowHosts: readonly string[] = [],
): Promise<void> {
  const realRoot = await realpath(root).catch(() => root);
  const refused = (await findRemoteReferences(realRoot, dir)).filter((ref) => !allowed(ref.host, allowHosts));
  const first = refused[0];
  if (!first) return;
  const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : '';
  const how = first.host
    ? `vendor it into the source, or add "${first.host}" to the renderer's allowRemoteHosts`
    : 'vendor it into the source';
  throw new RenderError(
    ErrorCodes.RenderRemoteResource,
    `remote ${first.field} "${first.url}" refused${more}: content of the source must not make the reconciler open connections; ${how}`,
    { location: { file: first.file, line: first.line } },
  );
}
