/**
 * The apiserver's `Invalid` messages embed the refused value, and for a struct field (a Job's
 * `spec.template`) that is a Go struct dump of several kilobytes (`core.PodTemplateSpec{ObjectMeta:
 * v1.ObjectMeta{...}}`), unreadable and copied into conditions and history. This keeps the field
 * paths and the reasons, which are what a person acts on.
 */
import type { StatusCause } from './errors.js';

/** A Go composite value as the apiserver prints it: `pkg.Type{` up to its matching `}`. */
function stripStructs(text: string): string {
  let out = '';
  let i = 0;
  const start = /(?:\[\])?\*?[A-Za-z_]\w*\.[A-Z]\w*\{/g;
  for (;;) {
    start.lastIndex = i;
    const match = start.exec(text);
    if (!match) break;
    out += text.slice(i, match.index);
    let depth = 0;
    let j = match.index + match[0].length - 1;
    for (; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) break;
    }
    out += `${match[0].slice(0, -1)}{…}`;
    i = j + 1;
  }
  return out + text.slice(i);
}

/** A cause's message without the value it refused: `Invalid value: <value>: field is immutable` → `field is immutable`. */
function causeReason(cause: StatusCause): string {
  const message = stripStructs(cause.message ?? cause.reason ?? 'invalid');
  const match = /^Invalid value: .*: ([^:]+)$/s.exec(message);
  return (match?.[1] ?? message).trim();
}

/**
 * An `Invalid` message cut to what matters: the object, then each refused field path with its
 * reason (from the Status causes when the server sent them, else the message with every Go struct
 * dump replaced by `{…}`), at most 1,000 characters.
 */
export function shortenInvalid(message: string, causes: readonly StatusCause[]): string {
  const head = /^(.*? is invalid)(?::|$)/s.exec(message)?.[1];
  let short: string;
  if (head !== undefined && causes.length > 0) {
    const fields = causes.map((cause) => `${cause.field ? `${cause.field}: ` : ''}${causeReason(cause)}`);
    short = `${head}: ${[...new Set(fields)].join('; ')}`;
  } else {
    short = stripStructs(message);
  }
  return short.length > 1000 ? `${short.slice(0, 999)}…` : short;
}
