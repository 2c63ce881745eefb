/**
 * The one-request protocol v2 exchange with `git-upload-pack` shared by the direct `ls-refs` and
 * `fetch` requests: v2 requests are stateless, so a server that speaks v2 answers them without the
 * capability request (`GET info/refs`) a client normally sends first.
 */
import type { HttpClient } from 'isomorphic-git';
import { TransportError } from './errors.js';

/** Encodes one pkt-line. */
export function pkt(line: string): string {
  return `${(Buffer.byteLength(line) + 4).toString(16).padStart(4, '0')}${line}`;
}

/** The body of a v2 request: the command, a delimiter, its argument lines, a flush. */
export function commandRequest(command: string, args: readonly string[]): Buffer {
  return Buffer.from(`${pkt(`command=${command}\n`)}0001${args.map(pkt).join('')}0000`, 'utf8');
}

/**
 * POSTs a v2 request to `<url>/git-upload-pack` and returns the whole answer. Returns undefined
 * when the server does not answer in kind (no v2, a redirect, an error status); throws a
 * {@link TransportError} when it refuses the credentials, and network errors as they come.
 */
export async function postUploadPackV2(
  http: HttpClient,
  url: string,
  body: Buffer,
): Promise<Buffer | undefined> {
  const response = await http.request({
    url: `${url.replace(/\/+$/, '')}/git-upload-pack`,
    method: 'POST',
    headers: {
      'content-type': 'application/x-git-upload-pack-request',
      accept: 'application/x-git-upload-pack-result',
      'git-protocol': 'version=2',
    },
    body: (async function* () {
      yield body;
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
  return Buffer.concat(chunks);
}
