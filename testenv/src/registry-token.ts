import { randomBytes, sign, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/** What the token service needs: who may log in, and the key and certificate it signs tokens with. */
export interface TokenServiceOptions {
  /** The `service` (audience) the registry expects, and the `issuer`. */
  service: string;
  issuer: string;
  /** The one user with full access. */
  username: string;
  password: string;
  /** PEM files: the signing key and its certificate (chained to the registry's `rootcertbundle`). */
  signingKey: string;
  signingCert: string;
  /** Serve HTTPS with this certificate and key (PEM files); plain HTTP when absent. */
  tls?: { cert: string; key: string };
  /**
   * Repository name prefix anonymous clients may pull (`public/`), as public repositories on a
   * hosted registry: anonymous tokens grant `pull` there and nothing elsewhere.
   */
  publicPrefix: string;
}

/** A running token service. */
export interface RunningTokenService {
  /** `https://127.0.0.1:<port>/token`: the realm of the registry's challenge. */
  realm: string;
  /** Tokens issued so far (the tests count the token round trips with it). */
  issued(): number;
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One requested scope: `repository:team/app:pull,push`. */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(','),
  };
}

/**
 * A token service by the distribution token spec, for a registry run with `auth.token`: `GET
 * /token?service=…&scope=…` answers `{ token, access_token, expires_in }`, an ES256 JWT whose `x5c`
 * header carries the signing certificate (the registry checks it against its root bundle). Basic
 * credentials of the one user get every action asked for; anonymous clients get `pull` under
 * `publicPrefix` and nothing else (the registry then answers 401 `insufficient_scope`); wrong
 * credentials get 401.
 */
export async function startTokenService(options: TokenServiceOptions): Promise<RunningTokenService> {
  const key = await readFile(options.signingKey, 'utf8');
  const certPem = await readFile(options.signingCert, 'utf8');
  const der = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  let issued = 0;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://token');
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/token') {
      reply(404, { details: 'no such path' });
      return;
    }
    let user: string | undefined;
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const ok =
        colon > 0 &&
        sameSecret(decoded.slice(0, colon), options.username) &&
        sameSecret(decoded.slice(colon + 1), options.password);
      if (!ok) {
        reply(401, { details: 'bad credentials' });
        return;
      }
      user = options.username;
    }
    if (url.searchParams.get('service') !== options.service) {
      reply(400, { details: 'unknown service' });
      return;
    }
    const access = url.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .map(parseScope)
      .filter((s) => s !== undefined)
      .map((s) => ({
        ...s,
        actions: user
          ? s.actions
          : s.name.startsWith(options.publicPrefix)
            ? s.actions.filter((a) => a === 'pull')
            : [],
      }));
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'ES256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = {
      iss: options.issuer,
      sub: user ?? '',
      aud: options.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signed = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${signed}.${b64url(signature)}`;
    issued++;
    reply(200, {
      token,
      access_token: token,
      expires_in: 300,
      issued_at: new Date(now * 1000).toISOString(),
    });
  };
  const server = options.tls
    ? https.createServer(
        { cert: await readFile(options.tls.cert), key: await readFile(options.tls.key) },
        handler,
      )
    : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/token`,
    issued: () => issued,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
