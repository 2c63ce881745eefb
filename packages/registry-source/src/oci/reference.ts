import { RegistryError, RegistryErrorCodes } from '../errors.js';
import { isDigest } from './digest.js';

/** A parsed OCI reference: `registry/repository[:tag][@digest]`. */
export interface OciReference {
  /** The registry host as written (`127.0.0.1:5000`, `ghcr.io`, `docker.io`). */
  readonly registry: string;
  /** The repository path inside the registry (`team/app`, `library/nginx`). */
  readonly repository: string;
  /** The tag, when one was given. */
  readonly tag?: string | undefined;
  /** The manifest digest (`sha256:<hex>`), when one was given. */
  readonly digest?: string | undefined;
}

// The distribution spec's grammar: path components are lower-case alphanumerics joined by
// `.`, `_`, `__` or runs of `-`; tags are up to 128 word characters, dots and dashes.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Where the user info of a URL-style reference (`user:pass@host/…`) ends in `rest` (the reference
 * without its scheme), or 0 when there is none: everything up to the last `@` that does not
 * introduce a valid digest. Wider than a URL's authority on purpose: a password holding a raw `/`
 * or `@` (a base64 token) or a mistyped digest must not be quoted either, and a bad digest after a
 * name costs only a less precise message.
 */
function userinfoEnd(rest: string): number {
  let at = rest.lastIndexOf('@');
  if (at >= 0 && isDigest(rest.slice(at + 1))) at = at === 0 ? -1 : rest.lastIndexOf('@', at - 1);
  return at + 1;
}

/** The input as it may be shown: without the user info, which can hold a password. */
function shown(input: string): string {
  const trimmed = input.trim();
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(trimmed)?.[0] ?? '';
  const rest = trimmed.slice(scheme.length);
  return `${scheme}${rest.slice(userinfoEnd(rest))}`;
}

/** An invalid reference; it names the input without user info, in the message and in `reference`. */
function invalid(input: string, why: string): RegistryError {
  const safe = shown(input);
  return new RegistryError(
    RegistryErrorCodes.InvalidReference,
    `invalid OCI reference ${JSON.stringify(safe)}: ${why}`,
    { reference: safe },
  );
}

/**
 * Parses `oci://host/repo[:tag][@sha256:…]` (the `oci://` prefix is optional). The first path part
 * is the registry when it has a `.` or `:` or is `localhost`, as Docker reads references; otherwise
 * the registry is `docker.io` and a single-part repository gets `library/`. Throws a
 * `RegistryError` with code `SOURCE_OCI_INVALID_REFERENCE` naming what is wrong; user info
 * (`user:pass@`) is refused and never quoted.
 */
export function parseReference(input: string): OciReference {
  let rest = input.trim();
  if (rest.startsWith('oci://')) rest = rest.slice('oci://'.length);
  if (/^[a-z]+:\/\//i.test(rest)) throw invalid(input, 'only oci:// references are OCI references');
  // Checked before anything else is read, so no part of what precedes such an `@` is ever quoted.
  if (userinfoEnd(rest) > 0) {
    throw invalid(
      input,
      'what comes before "@" is read as credentials, which do not belong in a reference (pass them as options); an "@" may only introduce a digest (sha256:<64 hex>)',
    );
  }
  // Now an `@` can only be followed by a valid digest.
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `tag ${JSON.stringify(tag)} is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  if (!HOST.test(registry)) throw invalid(input, `registry host ${JSON.stringify(registry)} is not valid`);
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    throw invalid(input, 'the repository path must be lower-case parts like team/app');
  }
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  return { registry, repository: parts.join('/'), tag, digest };
}

/** Formats a reference back: `host/repo:tag@digest`, the parts that are set. */
export function formatReference(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The host the registry's API answers on: Docker Hub's API is not at `docker.io`. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}
