/**
 * Parsing raw commit and tag objects. Both engines read objects as raw bytes and share this code,
 * so signature payloads are cut the same way whichever engine fetched them.
 */

/** A person line of a commit or tag: name, email and time. */
export interface GitPerson {
  readonly name: string;
  readonly email: string;
  /** ISO 8601 time. */
  readonly time: string;
}

/** A parsed commit or tag object, with what signature verification needs. */
export interface ParsedObject {
  /** Header fields in order (continuation lines joined with `\n`). */
  readonly headers: ReadonlyMap<string, string>;
  readonly message: string;
  /** The armored signature, when signed. */
  readonly signature: string | undefined;
  /** The bytes that were signed: the object without its signature. */
  readonly payload: Uint8Array;
}

const SIG_HEADERS = ['gpgsig', 'gpgsig-sha256'];
const TAG_SIG_START = '-----BEGIN PGP SIGNATURE-----';

/** A commit or tag as text, cut at the first blank line into its header block and its message. */
interface SplitObject {
  readonly text: string;
  readonly head: string;
  readonly message: string;
  /** Whether there was a blank line (and so a message, possibly empty). */
  readonly hasMessage: boolean;
}

function splitObject(raw: Uint8Array): SplitObject {
  const text = new TextDecoder().decode(raw);
  const split = text.indexOf('\n\n');
  if (split < 0) return { text, head: text, message: '', hasMessage: false };
  return { text, head: text.slice(0, split), message: text.slice(split + 2), hasMessage: true };
}

/** Parses a raw commit object (the bytes after the `commit <size>\0` header). */
export function parseCommit(raw: Uint8Array): ParsedObject {
  const { head, message, hasMessage } = splitObject(raw);
  const headers = new Map<string, string>();
  const kept: string[] = [];
  let signature: string | undefined;
  let current: string | undefined;
  for (const line of head.split('\n')) {
    if (line.startsWith(' ') && current !== undefined) {
      // A continuation line belongs to the previous header.
      headers.set(current, `${headers.get(current)}\n${line.slice(1)}`);
      if (!SIG_HEADERS.includes(current)) kept.push(line);
      continue;
    }
    const space = line.indexOf(' ');
    current = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1);
    if (!headers.has(current)) headers.set(current, value);
    if (!SIG_HEADERS.includes(current)) kept.push(line);
  }
  const sig = headers.get('gpgsig') ?? headers.get('gpgsig-sha256');
  if (sig) signature = `${sig}\n`.replace(/\n+$/, '\n');
  const payload = new TextEncoder().encode(
    hasMessage ? `${kept.join('\n')}\n\n${message}` : `${kept.join('\n')}`,
  );
  return { headers, message, signature, payload };
}

/** Parses a raw annotated tag object: the signature, if any, ends the message. */
export function parseTag(raw: Uint8Array): ParsedObject {
  const split = splitObject(raw);
  const { text, head, hasMessage } = split;
  let { message } = split;
  const headers = new Map<string, string>();
  for (const line of head.split('\n')) {
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    if (!headers.has(key)) headers.set(key, space < 0 ? '' : line.slice(space + 1));
  }
  let signature: string | undefined;
  let signedText = text;
  const at = message.lastIndexOf(TAG_SIG_START);
  if (at >= 0 && (at === 0 || message[at - 1] === '\n')) {
    signature = message.slice(at);
    message = message.slice(0, at);
    signedText = hasMessage ? `${head}\n\n${message}` : text;
  }
  return { headers, message, signature, payload: new TextEncoder().encode(signedText) };
}

/** Parses `Name <email> 1700000000 +0100` into a {@link GitPerson}. */
export function parsePerson(line: string | undefined): GitPerson | undefined {
  if (!line) return undefined;
  const match = /^(.*?)\s*<([^>]*)>\s*(\d+)\s*([+-]\d{4})?/.exec(line);
  if (!match) return undefined;
  const seconds = Number(match[3]);
  return { name: match[1] ?? '', email: match[2] ?? '', time: new Date(seconds * 1000).toISOString() };
}

/** `Name <email>` of a person. */
export function formatPerson(person: GitPerson | undefined): string | undefined {
  return person ? `${person.name} <${person.email}>` : undefined;
}
