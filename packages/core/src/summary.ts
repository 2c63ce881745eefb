/**
 * Short messages for many problems. An error about 600 objects must stay readable in a condition,
 * a log line and the stored history: its message says how many, groups the same reason, shows the
 * first few, and the full list stays on the error object.
 */

/** One problem to summarize: what went wrong, and where (`file:line object`, or empty). */
export interface Problem {
  readonly message: string;
  readonly where: string;
}

/** Where a problem is, for ordering: the fields of an error location that order manifests. */
export interface ProblemPlace {
  readonly file?: string | undefined;
  readonly line?: number | undefined;
  readonly documentIndex?: number | undefined;
  readonly object?: string | undefined;
}

/** How much of a list {@link summarizeProblems} shows. */
export interface SummaryLimits {
  /** Reasons (groups of the same message) shown; default 5. */
  readonly groups?: number;
  /** Places shown per reason; default 3. */
  readonly places?: number;
}

/** Orders located items as the manifests are ordered (file, line, document), then by object and message. */
export function byManifestOrder(
  a: { readonly message: string; readonly location?: ProblemPlace | undefined },
  b: { readonly message: string; readonly location?: ProblemPlace | undefined },
): number {
  const la = a.location ?? {};
  const lb = b.location ?? {};
  if (la.file !== lb.file) {
    if (la.file === undefined) return 1;
    if (lb.file === undefined) return -1;
    return la.file < lb.file ? -1 : 1;
  }
  const line = (la.line ?? 0) - (lb.line ?? 0);
  if (line !== 0) return line;
  const doc = (la.documentIndex ?? 0) - (lb.documentIndex ?? 0);
  if (doc !== 0) return doc;
  const oa = la.object ?? '';
  const ob = lb.object ?? '';
  return oa < ob ? -1 : oa > ob ? 1 : a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/**
 * Lines that summarize problems: one line per distinct message (in order of first appearance),
 * naming the place for a single problem or the count and the first few places for many; at most
 * `groups` lines, then one line saying how many more there are.
 */
export function summarizeProblems(problems: readonly Problem[], limits: SummaryLimits = {}): string[] {
  const maxGroups = limits.groups ?? 5;
  const maxPlaces = limits.places ?? 3;
  const groups = new Map<string, string[]>();
  for (const problem of problems) {
    const places = groups.get(problem.message) ?? [];
    if (places.length === 0) groups.set(problem.message, places);
    places.push(problem.where);
  }
  const lines: string[] = [];
  for (const [message, places] of groups) {
    if (lines.length === maxGroups) break;
    if (places.length === 1) {
      const where = places[0];
      lines.push(where ? `${where}: ${message}` : message);
      continue;
    }
    const shown = places.filter((p) => p !== '').slice(0, maxPlaces);
    const more = places.length - shown.length;
    const list = shown.length > 0 ? `: ${shown.join('; ')}${more > 0 ? ` and ${more} more` : ''}` : '';
    lines.push(`${message} (${places.length} objects${list})`);
  }
  const hidden = problems.length - [...groups.values()].slice(0, maxGroups).reduce((n, g) => n + g.length, 0);
  if (hidden > 0) lines.push(`… and ${hidden} more (the error's list has them all)`);
  return lines;
}

/** The longest message a condition or a history entry keeps. */
export const MAX_STATUS_MESSAGE = 1024;

/**
 * A message cut to `max` characters for status and history (the error object keeps the whole
 * text): a target whose errors are long must not make every pass rewrite a large state object.
 */
export function boundMessage(message: string, max = MAX_STATUS_MESSAGE): string {
  if (message.length <= max) return message;
  const suffix = ` … (${message.length - max} more characters on the error)`;
  return message.slice(0, Math.max(0, max - suffix.length)) + suffix;
}
