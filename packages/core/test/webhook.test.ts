import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Artifact,
  createWebhookHandler,
  ErrorCodes,
  GitOpsError,
  type Source,
  type SourceChange,
  WebhookConfigError,
  type WebhookHandlerOptions,
  type WebhookOutcome,
  type WebhookReconciler,
} from '@gitops-kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { hmacSha256 } from '../src/webhook/verify.js';

/** A source that matches one URL and one branch, as a Git source would. */
function source(url: string, branch: string): Source {
  return {
    description: `test ${url}@${branch}`,
    fetch: (): Promise<Artifact> => Promise.reject(new Error('not used')),
    matches: (change: SourceChange) =>
      (change.url === undefined || change.url.replace(/\.git$/, '') === url) &&
      (change.ref === undefined || change.ref === `refs/heads/${branch}` || change.ref === branch),
  };
}

class Counted implements WebhookReconciler {
  triggers = 0;
  constructor(
    readonly name: string,
    readonly source: Source,
  ) {}
  trigger(): void {
    this.triggers++;
  }
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(options: WebhookHandlerOptions): Promise<string> {
  const handler = createWebhookHandler(options);
  const created = createServer((req, res) => void handler(req, res));
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(created.address() as AddressInfo).port}/hook`;
}

const GITHUB_SECRET = 'github-secret-value';
const GITLAB_TOKEN = 'gitlab-token-value';
const GENERIC_SECRET = 'generic-secret-value';

function setup(): {
  web: Counted;
  api: Counted;
  other: Counted;
  outcomes: WebhookOutcome[];
  options: WebhookHandlerOptions;
} {
  const web = new Counted('web', source('https://git.example.com/org/web', 'main'));
  const api = new Counted('api', source('https://git.example.com/org/api', 'main'));
  const other = new Counted('web-staging', source('https://git.example.com/org/web', 'staging'));
  const outcomes: WebhookOutcome[] = [];
  return {
    web,
    api,
    other,
    outcomes,
    options: {
      targets: [web, api, other],
      github: { secret: GITHUB_SECRET },
      gitlab: { token: GITLAB_TOKEN },
      generic: { secret: GENERIC_SECRET },
      maxBodyBytes: 4096,
      onOutcome: (o) => outcomes.push(o),
    },
  };
}

const githubPush = JSON.stringify({
  ref: 'refs/heads/main',
  repository: {
    clone_url: 'https://git.example.com/org/web.git',
    html_url: 'https://git.example.com/org/web',
  },
});

describe('createWebhookHandler', () => {
  it('triggers the reconcilers whose source matches a signed GitHub push', async () => {
    const { web, api, other, options, outcomes } = setup();
    const url = await serve(options);
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'x-github-event': 'push',
        'x-hub-signature-256': hmacSha256(GITHUB_SECRET, Buffer.from(githubPush)),
      },
      body: githubPush,
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ triggered: ['web'] });
    expect([web.triggers, api.triggers, other.triggers]).toEqual([1, 0, 0]);
    expect(outcomes[0]).toMatchObject({ provider: 'github', status: 202, triggered: ['web'] });
  });

  it('answers 401 and triggers nothing for a bad or missing signature', async () => {
    const { web, api, other, options, outcomes } = setup();
    const url = await serve(options);
    const bad: Record<string, string>[] = [
      {
        'x-github-event': 'push',
        'x-hub-signature-256': hmacSha256('wrong-secret', Buffer.from(githubPush)),
      },
      { 'x-github-event': 'push' },
      { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'wrong-token' },
      { 'x-signature-256': hmacSha256(GENERIC_SECRET, Buffer.from('{"ref":"other"}')) },
    ];
    for (const headers of bad) {
      const res = await fetch(url, { method: 'POST', headers, body: githubPush });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('secret');
    }
    expect([web.triggers, api.triggers, other.triggers]).toEqual([0, 0, 0]);
    for (const outcome of outcomes) expect(JSON.stringify(outcome)).not.toMatch(/secret-value|token-value/);
  });

  it('accepts GitLab push events with the right token', async () => {
    const { web, other, options } = setup();
    const url = await serve(options);
    const body = JSON.stringify({
      ref: 'refs/heads/staging',
      project: { git_http_url: 'https://git.example.com/org/web.git' },
    });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': GITLAB_TOKEN },
      body,
    });
    expect(res.status).toBe(202);
    expect([web.triggers, other.triggers]).toEqual([0, 1]);
  });

  it('accepts a generic HMAC event and a Manager-like dispatcher', async () => {
    const changes: SourceChange[] = [];
    const url = await serve({
      targets: {
        triggerMatching: (change) => {
          changes.push(change);
          return ['all'];
        },
      },
      generic: { secret: GENERIC_SECRET, header: 'x-my-signature' },
    });
    const body = JSON.stringify({ url: 'https://git.example.com/org/api.git', ref: 'main' });
    const signature = hmacSha256(GENERIC_SECRET, Buffer.from(body)).replace('sha256=', '');
    const res = await fetch(url, { method: 'POST', headers: { 'x-my-signature': signature }, body });
    expect(res.status).toBe(202);
    expect(changes).toEqual([{ url: 'https://git.example.com/org/api.git', ref: 'main' }]);
  });

  it('ignores non-push GitHub events, refuses other methods, bad JSON and oversized bodies', async () => {
    const { web, options } = setup();
    const url = await serve(options);
    const ping = '{"zen":"hi"}';
    const pong = await fetch(url, {
      method: 'POST',
      headers: {
        'x-github-event': 'ping',
        'x-hub-signature-256': hmacSha256(GITHUB_SECRET, Buffer.from(ping)),
      },
      body: ping,
    });
    expect(pong.status).toBe(200);
    expect((await fetch(url)).status).toBe(405);
    const junk = 'not json';
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'x-signature-256': hmacSha256(GENERIC_SECRET, Buffer.from(junk)) },
      body: junk,
    });
    expect(bad.status).toBe(400);
    const big = 'x'.repeat(10_000);
    const tooBig = await fetch(url, {
      method: 'POST',
      headers: { 'x-signature-256': hmacSha256(GENERIC_SECRET, Buffer.from(big)) },
      body: big,
    });
    expect(tooBig.status).toBe(413);
    expect(web.triggers).toBe(0);
  });
});

describe('createWebhookHandler refuses a configuration that would let anyone in', () => {
  const targets: WebhookReconciler[] = [];

  it('refuses an empty secret or token for every provider, naming the option', () => {
    const empty: [WebhookHandlerOptions, string][] = [
      [{ targets, github: { secret: '' } }, 'github.secret'],
      [{ targets, gitlab: { token: '' } }, 'gitlab.token'],
      [{ targets, generic: { secret: '' } }, 'generic.secret'],
      [{ targets, github: { secret: GITHUB_SECRET }, gitlab: { token: '' } }, 'gitlab.token'],
      // A value that is not a string (a missing environment variable read through `as string`).
      [{ targets, github: { secret: undefined as unknown as string } }, 'github.secret'],
    ];
    for (const [options, option] of empty) {
      let thrown: unknown;
      try {
        createWebhookHandler(options);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(WebhookConfigError);
      expect(thrown).toBeInstanceOf(GitOpsError);
      expect(thrown).toMatchObject({ code: ErrorCodes.WebhookSecretEmpty });
      expect((thrown as Error).message).toContain(option);
    }
  });

  it('refuses a handler with no provider', () => {
    expect(() => createWebhookHandler({ targets })).toThrow(
      expect.objectContaining({ code: ErrorCodes.WebhookNoProvider, name: 'WebhookConfigError' }),
    );
  });

  it('never triggers on a push signed with the empty key', async () => {
    const web = new Counted('web', source('https://git.example.com/org/web', 'main'));
    expect(() => createWebhookHandler({ targets: [web], github: { secret: '' } })).toThrow(
      WebhookConfigError,
    );
    // The secret is read once: emptying the options object afterwards does not open the door.
    const options = { targets: [web], github: { secret: GITHUB_SECRET } };
    const url = await serve(options);
    options.github.secret = '';
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': hmacSha256('', Buffer.from(githubPush)) },
      body: githubPush,
    });
    expect(res.status).toBe(401);
    expect(web.triggers).toBe(0);
  });
});
