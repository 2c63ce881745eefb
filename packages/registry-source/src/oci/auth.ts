import type { Redactor } from '@gitops-kit/core';
import { RegistryError, RegistryErrorCodes } from '../errors.js';
import type { AuthChallenge } from './challenge.js';
import type { FetchLike } from './http.js';
import { readCapped } from './read-capped.js';

/**
 * How to authenticate to a registry. Anonymous when absent: a bearer-token registry then gives an
 * anonymous token for public repositories, as `docker pull` gets one.
 */
export type RegistryCredentials =
  | {
      /** User name (for Docker Hub, GHCR: your user; for cloud registries often a fixed name). */
      readonly username: string;
      /** Password or access token: sent as basic auth, or to the token service for a bearer token. */
      readonly password: string;
    }
  | {
      /** A registry token sent as `Authorization: Bearer <token>` (an already issued access token). */
      readonly token: string;
    };

/** The values of credentials that must never appear in a message. */
export function secretsOf(credentials: RegistryCredentials | undefined): string[] {
  if (!credentials) return [];
  if ('token' in credentials) return [credentials.token];
  const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  return [credentials.password, basic];
}

interface CachedToken {
  readonly header: string;
  /** ms since the epoch; the token is not used after it. */
  readonly expiresAt: number;
}

/** What a token service answers (distribution's token spec; `access_token` is the OAuth2 name). */
interface TokenAnswer {
  readonly token?: unknown;
  readonly access_token?: unknown;
  readonly expires_in?: unknown;
}

/** Options of {@link RegistryAuth}. */
export interface RegistryAuthOptions {
  /** Anonymous when absent. */
  readonly credentials?: RegistryCredentials | undefined;
  /** The transport for the token service. */
  readonly fetch: FetchLike;
  /** Cleans messages of every secret. */
  readonly redactor: Redactor;
  /** Counts the token service's requests with the registry's. */
  readonly onRequest?: (() => void) | undefined;
  /** The clock, for token expiry (default `Date.now`). */
  readonly now?: (() => number) | undefined;
}

/** Tokens that say nothing of their lifetime are kept this long (the spec's default is 60 s). */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * A token answer is a small JSON document (a few KiB even with a refresh token); a service that
 * sends more is misbehaving, and its body is not read on.
 */
const MAX_TOKEN_ANSWER_BYTES = 256 * 1024;

/**
 * The authorization of a registry client: sends what is known to work before being asked (basic
 * credentials once a registry asked for them, a bearer token until it expires), so a steady poll
 * costs one request, and answers a `401` challenge by the distribution token spec: `Basic` with the
 * credentials, `Bearer realm=…,service=…,scope=…` with a token fetched from the realm (with the
 * basic credentials when given, anonymously otherwise).
 */
export class RegistryAuth {
  readonly #credentials: RegistryCredentials | undefined;
  readonly #fetch: FetchLike;
  readonly #redactor: Redactor;
  readonly #onRequest: () => void;
  readonly #now: () => number;
  /** Hosts that asked for basic auth. */
  readonly #basicHosts = new Set<string>();
  /** Bearer tokens by `host scope`. */
  readonly #tokens = new Map<string, CachedToken>();

  constructor(options: RegistryAuthOptions) {
    this.#credentials = options.credentials;
    this.#fetch = options.fetch;
    this.#redactor = options.redactor;
    this.#onRequest = options.onRequest ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  /** Whether any credentials were given. */
  get hasCredentials(): boolean {
    return this.#credentials !== undefined;
  }

  /** The `Authorization` value to send to `host` for `scope` before any challenge, if one is known. */
  header(host: string, scope: string): string | undefined {
    const credentials = this.#credentials;
    if (credentials && 'token' in credentials) return `Bearer ${credentials.token}`;
    const cached = this.#tokens.get(`${host} ${scope}`);
    if (cached && cached.expiresAt > this.#now()) return cached.header;
    if (credentials && this.#basicHosts.has(host)) return this.#basic(credentials);
    return undefined;
  }

  /**
   * Learns from a `401` challenge of `host`: true when a retry may succeed (a new basic header or
   * token is known now), false when nothing more can be tried (the credentials were refused).
   * Token-service failures throw a `RegistryError` (`SOURCE_OCI_AUTH_FAILED`, `SOURCE_OCI_UNREACHABLE`).
   */
  async answer(
    host: string,
    scope: string,
    challenges: readonly AuthChallenge[],
    sent: string | undefined,
    context: { reference: string; signal?: AbortSignal | undefined },
  ): Promise<boolean> {
    const credentials = this.#credentials;
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer && !(credentials && 'token' in credentials)) {
      const realm = bearer.params.realm;
      if (!realm) return false;
      const key = `${host} ${scope}`;
      // A cached token the registry refused (expired early, revoked) is replaced; the caller
      // answers one challenge per request, so a refused fresh token ends there.
      this.#tokens.delete(key);
      const token = await this.#fetchToken(
        realm,
        bearer.params.service,
        bearer.params.scope ?? scope,
        context,
      );
      this.#tokens.set(key, token);
      return sent !== token.header;
    }
    if (challenges.some((c) => c.scheme === 'basic') && credentials && 'username' in credentials) {
      const header = this.#basic(credentials);
      if (sent === header) return false;
      this.#basicHosts.add(host);
      return true;
    }
    return false;
  }

  #basic(credentials: { username: string; password: string }): string {
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  async #fetchToken(
    realm: string,
    service: string | undefined,
    scope: string,
    context: { reference: string; signal?: AbortSignal | undefined },
  ): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(
        RegistryErrorCodes.BadResponse,
        `${context.reference}: the registry's token realm ${JSON.stringify(this.#redactor.redact(realm))} is not a URL`,
        { reference: context.reference },
      );
    }
    if (service) url.searchParams.set('service', service);
    for (const one of scope.split(' ')) if (one) url.searchParams.append('scope', one);
    const credentials = this.#credentials;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credentials && 'username' in credentials) headers.authorization = this.#basic(credentials);
    const shown = this.#redactor.redact(`${url.origin}${url.pathname}`);
    this.#onRequest();
    let response: Response;
    try {
      response = await this.#fetch(url.toString(), {
        method: 'GET',
        headers,
        signal: context.signal,
        redirect: 'manual',
      });
    } catch (error) {
      context.signal?.throwIfAborted();
      throw new RegistryError(
        RegistryErrorCodes.Unreachable,
        `${context.reference}: cannot reach the token service ${shown}: ${this.#redactor.redact(networkReason(error))}`,
        { reference: context.reference, url: shown },
      );
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new RegistryError(
        RegistryErrorCodes.AuthFailed,
        `${context.reference}: the token service ${shown} refused ${credentials ? 'the credentials' : 'anonymous access'} (HTTP ${response.status})`,
        { reference: context.reference, url: shown, status: response.status },
      );
    }
    if (response.status >= 500 || response.status === 429) {
      // The service is down or shedding load: it could not be reached, the credentials were not judged.
      await response.body?.cancel().catch(() => undefined);
      throw new RegistryError(
        RegistryErrorCodes.Unreachable,
        `${context.reference}: the token service ${shown} answered HTTP ${response.status}`,
        { reference: context.reference, url: shown, status: response.status },
      );
    }
    const text = await this.#readAnswer(response, shown, context);
    let answer: TokenAnswer;
    try {
      answer = JSON.parse(text) as TokenAnswer;
    } catch {
      answer = {};
    }
    const token = typeof answer.token === 'string' ? answer.token : answer.access_token;
    if (!response.ok || typeof token !== 'string' || token === '') {
      throw new RegistryError(
        RegistryErrorCodes.AuthFailed,
        `${context.reference}: the token service ${shown} gave no token (HTTP ${response.status})`,
        { reference: context.reference, url: shown, status: response.status },
      );
    }
    const seconds =
      typeof answer.expires_in === 'number' && answer.expires_in > 0
        ? answer.expires_in
        : DEFAULT_TOKEN_SECONDS;
    // Renew a little early, so a token does not expire between sending and arriving.
    return { header: `Bearer ${token}`, expiresAt: this.#now() + Math.max(1, seconds - 5) * 1000 };
  }

  /** The token service's body as text, read up to {@link MAX_TOKEN_ANSWER_BYTES}. */
  async #readAnswer(
    response: Response,
    shown: string,
    context: { reference: string; signal?: AbortSignal | undefined },
  ): Promise<string> {
    const where = { reference: context.reference, url: shown, status: response.status };
    const tooLarge = (size: string): RegistryError =>
      new RegistryError(
        RegistryErrorCodes.TooLarge,
        `${context.reference}: the answer of the token service ${shown} is ${size} bytes, more than the limit of ${MAX_TOKEN_ANSWER_BYTES}`,
        where,
      );
    try {
      const body = await readCapped(response, MAX_TOKEN_ANSWER_BYTES, {
        tooLarge: (size, announced) => tooLarge(announced ? String(size) : `over ${size}`),
      });
      return body.toString('utf8');
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      context.signal?.throwIfAborted();
      throw new RegistryError(
        RegistryErrorCodes.Unreachable,
        `${context.reference}: the answer of the token service ${shown} broke off: ${this.#redactor.redact(networkReason(error))}`,
        where,
      );
    }
  }
}

/** A short reason for a network failure: its code (`ECONNREFUSED`) or message, causes included. */
export function networkReason(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const shape = current as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof shape.code === 'string' && /^E[A-Z_]+$|^UND_ERR|^ERR_TLS|CERT|SELF_SIGNED/.test(shape.code)) {
      return typeof shape.message === 'string' && shape.message
        ? `${shape.code} (${shape.message})`
        : shape.code;
    }
    if (Array.isArray(shape.errors) && shape.errors.length > 0) current = shape.errors[0];
    else if (shape.cause !== undefined) current = shape.cause;
    else return typeof shape.message === 'string' ? shape.message : String(error);
  }
  return String(error);
}
