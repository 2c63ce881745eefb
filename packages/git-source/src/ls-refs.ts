import type { HttpClient } from 'isomorphic-git';
import type { RemoteRef } from './ref.js';
import { commandRequest, postUploadPackV2 } from './upload-pack.js';

/** The body of a protocol v2 `ls-refs` request for refs under `prefix`, annotated tags peeled. */
export function lsRefsRequest(prefix: string | undefined): Buffer {
  return commandRequest('ls-refs', ['peel\n', ...(prefix ? [`ref-prefix ${prefix}\n`] : [])]);
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
  const body = await postUploadPackV2(http, url, lsRefsRequest(prefix));
  return body && parseLsRefs(body);
}
