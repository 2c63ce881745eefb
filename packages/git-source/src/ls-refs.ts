import type { HttpClient } from 'isomorphic-git';
import { TransportError } from './errors.js';
import type { RemoteRef } from './ref.js';

/** Encodes one pkt-line. */
function pkt(line: string): string {
  return `${(Buffer.byteLength(line) + 4).toString(16).padStart(4, '0')}${line}`;
}

/** The body of a protocol v2 `ls-refs` request for refs under `prefix`, annotated tags peeled. */
export function lsRefsRequest(prefix: string | undefined): Buffer {
  const args = ['peel\n', ...(prefix ? [`ref-prefix ${prefix}\n`] : [])];
  return Buffer.from(`${pkt('command=ls-refs\n')}0001${args.map(pkt).join('')}0000`, 'utf8');
}

/**
 * Parses an `ls-refs` answer: pkt-lines `<oid> <name>[ peeled:<oid>]…` ending with a flush.
 * Returns undefined for anything else (an error line, a protocol v0 answer, a cut-off body), so the
 * caller can fall back to the usual two-request listing.
 */
export function parseLsRefs(body: Buffer): RemoteRef[] | undefined {
  const refs: RemoteRef[] = [];
  let at = 0;
  while (at + 4 <= body.length) {
    const length = Number.parseInt(body.toString('latin1', at, at + 4), 16);
    if (!Number.isInteger(length)) return undefined;
    if (length === 0) return at + 4 === body.length ? refs : undefined;
    if (length < 4 || at + length > body.length) return undefined;
    const line = body.toString('utf8', at + 4, at + length).replace(/\n$/, '');
    const match = /^([0-9a-f]{40}) ([^\s\0]+)((?: [^\s\0]+)*)$/.exec(line);
    if (!match) return undefined;
    const peeled = /(?:^| )peeled:([0-9a-f]{40})(?: |$)/.exec(match[3] ?? '');
    refs.push({ name: match[2] as string, oid: match[1] as string, peeled: peeled?.[1] });
    at += length;
  }
  return undefined;
}

/**
 * Lists refs with one protocol v2 `ls-refs` POST, skipping the capability request (`GET
 * info/refs`) a client normally sends first: v2 requests are stateless, so a server that speaks v2
 * answers it as is. Every server process started and round trip saved shortens each poll. Returns
 * undefined when the server does not answer in kind (no v2, a redirect, an error status); throws
 * a {@link TransportError} when it refuses the credentials, and network errors as they come.
 */
export async function listRefsDirect(
  http: HttpClient,
  url: string,
  prefix: string | undefined,
): Promise<RemoteRef[] | undefined> {
  const response = await http.request({
    url: `${url.replace(/\/+$/, '')}/git-upload-pack`,
    method: 'POST',
    headers: {
      'content-type': 'application/x-git-upload-pack-request',
      accept: 'application/x-git-upload-pack-result',
      'git-protocol': 'version=2',
    },
    body: (async function* () {
      yield lsRefsRequest(prefix);
    })(),
  });
  const chunks: Uint8Array[] = [];
  if (response.body) for await (const chunk of response.body) chunks.push(chunk);
  if (response.statusCode === 401 || response.statusCode === 403) {
    throw new TransportError('auth', `the server refused the credentials (HTTP ${response.statusCode})`);
  }
  if (response.statusCode !== 200) return undefined;
  if (!/application\/x-git-upload-pack-result/.test(response.headers?.['content-type'] ?? ''))
    return undefined;
  return parseLsRefs(Buffer.concat(chunks));
}
