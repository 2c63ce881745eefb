/**
 * A protocol v2 `fetch` of one commit, sent as one request. isomorphic-git's `fetch` first asks for
 * the capabilities and refs (`GET info/refs`, protocol v1) although the commit is known from the
 * ref listing, then buffers and indexes the pack in JavaScript; this asks for the commit directly
 * and leaves indexing to `pack-index.ts`.
 */
import type { HttpClient } from 'isomorphic-git';
import { TransportError } from './errors.js';
import { commandRequest, postUploadPackV2 } from './upload-pack.js';

/** What to ask for. */
export interface PackRequest {
  /** The commit wanted. */
  readonly want: string;
  /** Shallow depth (1 for the tip alone). */
  readonly depth: number;
  /** Commits the repository has, so the server sends only what is new. */
  readonly haves: readonly string[];
  /** The repository's shallow boundary (its `shallow` file). */
  readonly shallows: readonly string[];
}

/** The server's answer: the pack and the changes to the shallow boundary. */
export interface PackResponse {
  readonly pack: Buffer;
  readonly shallow: readonly string[];
  readonly unshallow: readonly string[];
}

/** The body of a v2 `fetch` request. */
export function fetchRequest(request: PackRequest): Buffer {
  const args = [
    'ofs-delta\n',
    // Without thin-pack a server answers a fetch that has `have`s with whole objects again.
    ...(request.haves.length > 0 ? ['thin-pack\n'] : []),
    'no-progress\n',
    `want ${request.want}\n`,
    ...request.shallows.map((oid) => `shallow ${oid}\n`),
    `deepen ${request.depth}\n`,
    ...request.haves.map((oid) => `have ${oid}\n`),
    'done\n',
  ];
  return commandRequest('fetch', args);
}

/**
 * Parses a v2 `fetch` answer: sections (`shallow-info`, `packfile`, …) of pkt-lines; the packfile
 * section is side-band multiplexed (1 data, 2 progress, 3 error). Returns undefined when the body
 * is not such an answer (a v0 server), throws a `TransportError` when the server reports an error.
 */
export function parseFetchResponse(body: Buffer): PackResponse | undefined {
  const shallow: string[] = [];
  const unshallow: string[] = [];
  const pack: Buffer[] = [];
  let section: string | undefined;
  let at = 0;
  while (at + 4 <= body.length) {
    const length = Number.parseInt(body.toString('latin1', at, at + 4), 16);
    if (!Number.isInteger(length) || (length > 2 && length < 4) || at + Math.max(length, 4) > body.length)
      return undefined;
    if (length === 0)
      return section === 'packfile' ? { pack: Buffer.concat(pack), shallow, unshallow } : undefined;
    if (length === 1 || length === 2) {
      // Delimiter (a new section follows) or response end.
      section = undefined;
      at += 4;
      continue;
    }
    const payload = body.subarray(at + 4, at + length);
    at += length;
    if (section === undefined) {
      const header = payload.toString('utf8').replace(/\n$/, '');
      if (header.startsWith('ERR '))
        throw new TransportError('protocol', `the server answered: ${header.slice(4)}`);
      if (!/^[a-z-]+$/.test(header)) return undefined;
      section = header;
      continue;
    }
    if (section === 'packfile') {
      const band = payload[0];
      if (band === 1) pack.push(payload.subarray(1));
      else if (band === 3) {
        throw new TransportError('protocol', `the server answered: ${payload.toString('utf8', 1).trim()}`);
      }
      continue;
    }
    const line = payload.toString('utf8').replace(/\n$/, '');
    if (section === 'shallow-info') {
      const match = /^(shallow|unshallow) ([0-9a-f]{40})$/.exec(line);
      if (match?.[1] === 'shallow') shallow.push(match[2] as string);
      else if (match?.[1] === 'unshallow') unshallow.push(match[2] as string);
    }
  }
  return undefined;
}

/**
 * Sends one v2 `fetch` POST (no capability request first; v2 is stateless). Returns undefined
 * when the server does not answer in kind (no v2, an error status), so the caller can fall back
 * to isomorphic-git's fetch; throws a `TransportError` when it refuses the credentials.
 */
export async function fetchPackDirect(
  http: HttpClient,
  url: string,
  request: PackRequest,
): Promise<PackResponse | undefined> {
  const body = await postUploadPackV2(http, url, fetchRequest(request));
  return body && parseFetchResponse(body);
}
