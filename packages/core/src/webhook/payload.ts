import type { SourceChange } from '../types.js';

/** What a webhook body says changed: one ref, and the URLs the repository is known by. */
export interface WebhookChange {
  /** `refs/heads/main`, `refs/tags/v1.0.0`; absent when the event names none. */
  readonly ref?: string;
  /** Clone, web and SSH URLs of the repository (any may match a source). */
  readonly urls: readonly string[];
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function strings(...values: unknown[]): string[] {
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** Parses a JSON body; GitHub's form encoding (`payload=<json>`) is accepted too. */
export function parseBody(body: Buffer, contentType: string | undefined): unknown {
  let text = body.toString('utf8');
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    text = new URLSearchParams(text).get('payload') ?? '';
  }
  if (!text.trim()) return {};
  return JSON.parse(text) as unknown;
}

/** The change of a GitHub `push` event. */
export function githubChange(payload: unknown): WebhookChange {
  const body = record(payload);
  const repo = record(body.repository);
  return {
    ...(typeof body.ref === 'string' ? { ref: body.ref } : {}),
    urls: strings(repo.clone_url, repo.html_url, repo.ssh_url, repo.git_url, repo.url),
  };
}

/** The change of a GitLab `Push Hook` or `Tag Push Hook` event. */
export function gitlabChange(payload: unknown): WebhookChange {
  const body = record(payload);
  const project = record(body.project);
  const repo = record(body.repository);
  return {
    ...(typeof body.ref === 'string' ? { ref: body.ref } : {}),
    urls: strings(
      project.git_http_url,
      project.git_ssh_url,
      project.web_url,
      repo.git_http_url,
      repo.git_ssh_url,
      repo.homepage,
    ),
  };
}

/** The change of a generic event: `{ "url"?: string, "ref"?: string }`, both optional. */
export function genericChange(payload: unknown): WebhookChange {
  const body = record(payload);
  return {
    ...(typeof body.ref === 'string' ? { ref: body.ref } : {}),
    urls: strings(body.url),
  };
}

/** The {@link SourceChange}s to test sources against: one per URL (or one without a URL). */
export function sourceChanges(change: WebhookChange): SourceChange[] {
  const ref = change.ref === undefined ? {} : { ref: change.ref };
  if (change.urls.length === 0) return [ref];
  return change.urls.map((url) => ({ url, ...ref }));
}
