/** Credentials and transport settings for a Git server over HTTP(S). */
export interface GitAuth {
  /** HTTP basic authentication, sent as `Authorization: Basic base64(username:password)`. */
  readonly basic?: {
    /** The user name (for GitHub and GitLab tokens any non-empty name, such as `git`). */
    readonly username: string;
    /** The password or access token; a secret, never written to messages or events. */
    readonly password: string;
  };
  /** Sent as `Authorization: Bearer <token>`. */
  readonly bearerToken?: string;
  /** Extra request headers (for proxies or gateways). Their values are treated as secrets. */
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM certificate(s) of a certificate authority to trust for HTTPS, in addition to none else. */
  readonly caCert?: string;
}

/** The HTTP headers that carry the credentials of {@link GitAuth}. */
export function authHeaders(auth: GitAuth | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...(auth?.headers ?? {}) };
  if (auth?.basic) {
    const pair = `${auth.basic.username}:${auth.basic.password}`;
    headers.Authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  if (auth?.bearerToken) headers.Authorization = `Bearer ${auth.bearerToken}`;
  return headers;
}

/** Every value of {@link GitAuth} that must never appear in output, including encoded forms. */
export function secretsOf(auth: GitAuth | undefined): string[] {
  const secrets: string[] = [];
  if (auth?.basic) {
    secrets.push(auth.basic.password);
    secrets.push(Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64'));
  }
  if (auth?.bearerToken) secrets.push(auth.bearerToken);
  for (const value of Object.values(auth?.headers ?? {})) secrets.push(value);
  return secrets;
}

/**
 * Splits credentials out of a URL: `https://user:pass@host/repo.git` becomes the URL without them
 * and basic auth (unless the caller gave auth explicitly, which wins).
 */
export function splitUrlCredentials(url: string): {
  url: string;
  basic?: { username: string; password: string };
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  if (!parsed.username && !parsed.password) return { url };
  const basic = {
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), basic };
}

/**
 * A URL normalised for comparison: lower-case host, no credentials, no trailing `.git` or `/`,
 * `http` and `https` treated alike, and `git@host:owner/repo` read as `host/owner/repo`.
 */
export function normaliseRepoUrl(url: string): string {
  let text = url.trim();
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(text);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `ssh://${scp[1]}/${scp[2]}`;
  try {
    const parsed = new URL(text);
    const port = parsed.port && !['80', '443', '22'].includes(parsed.port) ? `:${parsed.port}` : '';
    const path = parsed.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
    return `${parsed.hostname.toLowerCase()}${port}${path}`;
  } catch {
    return text.replace(/\/+$/, '').replace(/\.git$/, '');
  }
}
