import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { findAsset } from './assets.js';
import { issueCertificate } from './certs.js';
import { freePort, type ManagedProcess, run, startProcess, waitReady } from './process.js';
import { type RunningTokenService, startTokenService } from './registry-token.js';
import { makeServingPki, type ServingPki } from './serving-pki.js';

/** Connection facts of an OCI registry, plain data so they can cross to test workers. */
export interface RegistryInfo {
  /** `127.0.0.1:<port>`: what OCI references start with (`127.0.0.1:5000/team/app:v1`). */
  host: string;
  /** `https://127.0.0.1:<port>` with TLS, `http://…` for the plain variant. */
  url: string;
  /** True for the plain-HTTP variant (no TLS): clients need `--plain-http` / insecure settings. */
  plainHttp: boolean;
  /** The PEM of the CA that signed the registry's certificate (trust it); absent without TLS. */
  caPem?: string;
  /** The same CA as a file, for CLIs (`helm --ca-file`, `SSL_CERT_FILE`); absent without TLS. */
  caFile?: string;
  /** How clients authenticate: `basic` (htpasswd), `token` (bearer tokens from `tokenRealm`) or `none`. */
  auth: 'none' | 'basic' | 'token';
  /** The token service's realm, with `auth: 'token'`. */
  tokenRealm?: string;
  /** The user's credentials (basic auth, or for the token service); absent without auth. */
  username?: string;
  password?: string;
  /** The registry's release, e.g. `v3.1.2`. */
  version: string;
  /** The folder the registry stores blobs and manifests in. */
  dataDir: string;
}

/** What {@link startRegistry} starts. */
export interface RegistryOptions {
  /** Serve HTTPS with a certificate of a CA made for this registry (default true). */
  tls?: boolean;
  /**
   * Require auth with generated credentials: `true` or `'basic'` for htpasswd basic auth (default),
   * `'token'` for the distribution token flow (a token service of testenv issues ES256 JWTs;
   * anonymous clients may pull repositories under `public/`), `false` for none.
   */
  auth?: boolean | 'basic' | 'token';
}

/** A running registry. */
export interface RunningRegistry {
  /** Connection facts. */
  info: RegistryInfo;
  /** Tokens the token service issued so far (`auth: 'token'` only; 0 otherwise). */
  tokensIssued(): number;
  /** Stops the registry and its token service (the data folder stays until the work folder goes). */
  stop(): Promise<void>;
}

/**
 * A bcrypt htpasswd line, the only scheme distribution's htpasswd auth accepts. There is no
 * `htpasswd` tool here and Node has no bcrypt, so Python's `crypt` makes it. The registry checks
 * the hash on every request, so it gets bcrypt's lowest cost (4; the default 12 costs a quarter of a
 * second of CPU per request on a busy machine): the password is random and lives for one run.
 */
async function htpasswdLine(username: string, password: string): Promise<string> {
  const script = [
    'import crypt, sys',
    'print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))',
  ].join('\n');
  const out = await run('python3', ['-W', 'ignore', '-c', script, username, password]);
  const line = out.trim();
  if (!line.startsWith(`${username}:$2`)) throw new Error('testenv: python3 crypt made no bcrypt hash');
  return `${line}\n`;
}

/** The registry's configuration file (distribution's YAML; JSON is YAML). */
function registryConfig(options: {
  dataDir: string;
  addr: string;
  tls?: { cert: string; key: string };
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; rootcertbundle: string };
}): string {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: options.dataDir },
      delete: { enabled: true },
      // Tests publish and read at once: no caching layer between them.
      cache: {},
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: options.addr,
      secret: randomBytes(16).toString('hex'),
      ...(options.tls ? { tls: { certificate: options.tls.cert, key: options.tls.key } } : {}),
      // No debug server, no extra listeners.
    },
    ...(options.htpasswd
      ? { auth: { htpasswd: { realm: 'gitops-kit-testenv', path: options.htpasswd } } }
      : {}),
    ...(options.token ? { auth: { token: options.token } } : {}),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Starts distribution/distribution's `registry serve` on a free loopback port with its own data
 * folder under `dir`. By default it serves HTTPS with a certificate of a CA made for it by
 * openssl and requires basic auth (htpasswd) with generated credentials; `{ tls: false, auth:
 * false }` gives a plain-HTTP registry anyone may push to.
 */
export async function startRegistry(dir: string, options: RegistryOptions = {}): Promise<RunningRegistry> {
  const tls = options.tls ?? true;
  const auth = options.auth === 'token' ? 'token' : (options.auth ?? true) === false ? 'none' : 'basic';
  const binary = findAsset('registry');
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const info: RegistryInfo = {
    host,
    url: `${tls ? 'https' : 'http'}://${host}`,
    plainHttp: !tls,
    auth,
    version: await registryVersion(binary),
    dataDir,
  };
  let pki: ServingPki | undefined;
  if (tls || auth === 'token') pki = await makeServingPki(join(dir, 'pki'), 'gitops-kit-testenv-registry');
  if (tls && pki) {
    info.caFile = pki.caCert;
    info.caPem = await readFile(pki.caCert, 'utf8');
  }
  let htpasswd: string | undefined;
  let tokenService: RunningTokenService | undefined;
  let token: { realm: string; service: string; issuer: string; rootcertbundle: string } | undefined;
  const username = 'testenv';
  const password = randomBytes(12).toString('base64url');
  if (auth !== 'none') Object.assign(info, { username, password });
  if (auth === 'basic') {
    htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, await htpasswdLine(username, password), { mode: 0o600 });
  }
  if (auth === 'token' && pki) {
    const pkiDir = join(dir, 'pki');
    await issueCertificate({
      dir: pkiDir,
      name: 'token',
      subject: '/CN=gitops-kit-testenv-token-signer',
      extensions: 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n',
      caCert: pki.caCert,
      caKey: pki.caKey,
    });
    const service = 'gitops-kit-testenv-registry';
    const issuer = 'gitops-kit-testenv-token-service';
    tokenService = await startTokenService({
      service,
      issuer,
      username,
      password,
      signingKey: join(pkiDir, 'token.key'),
      signingCert: join(pkiDir, 'token.crt'),
      ...(tls ? { tls: { cert: pki.cert, key: pki.key } } : {}),
      publicPrefix: 'public/',
    });
    info.tokenRealm = tokenService.realm;
    token = { realm: tokenService.realm, service, issuer, rootcertbundle: pki.caCert };
  }
  const configPath = join(dir, 'config.yml');
  await writeFile(
    configPath,
    registryConfig({
      dataDir,
      addr: host,
      ...(tls && pki ? { tls: { cert: pki.cert, key: pki.key } } : {}),
      ...(htpasswd ? { htpasswd } : {}),
      ...(token ? { token } : {}),
    }),
  );
  const proc: ManagedProcess = startProcess({
    name: 'registry',
    binary,
    logPath: join(dir, 'registry.log'),
    args: ['serve', configPath],
    env: { HOME: dir, OTEL_TRACES_EXPORTER: 'none', OTEL_SDK_DISABLED: 'true' },
  });
  try {
    await waitReady(proc, { binary, port }, () => answersV2(info));
  } catch (error) {
    await proc.stop();
    await tokenService?.stop();
    throw error;
  }
  return {
    info,
    tokensIssued: () => tokenService?.issued() ?? 0,
    stop: async () => {
      await proc.stop();
      await tokenService?.stop();
    },
  };
}

/** Whether the registry answers its API root: 200 without auth, 401 with a challenge with auth. */
async function answersV2(info: RegistryInfo): Promise<boolean> {
  const request = info.plainHttp ? http.request : https.request;
  return new Promise<boolean>((resolve, reject) => {
    const req = request(
      `${info.url}/v2/`,
      { method: 'GET', ...(info.caPem ? { ca: info.caPem } : {}), timeout: 2_000 },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status === 200 || (status === 401 && Boolean(res.headers['www-authenticate'])));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

async function registryVersion(binary: string): Promise<string> {
  // "<argv[0]> github.com/distribution/distribution/v3 v3.1.2": the last word.
  const out = (await run(binary, ['--version'])).trim();
  return /\sv?(\d+\.\d+\.\d+\S*)$/.exec(out)?.[0]?.trim() ?? out;
}
