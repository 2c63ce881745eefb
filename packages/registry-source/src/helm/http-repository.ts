import { sha256Of } from './chart-archive.js';
import { RepositoryProblem } from './errors.js';
import { displayUrl, HttpFailure, type HttpResponse, type HttpSettings, send } from './http.js';
import {
  archiveUrl,
  type IndexEntry,
  IndexProblem,
  parseRepositoryIndex,
  type RepositoryIndex,
} from './repository-index.js';
import { selectVersion } from './versions.js';

/** What makes the next index request conditional. Internal. */
export interface IndexValidators {
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
}

/** The answer to an index request. Internal. */
export type IndexAnswer =
  | { readonly changed: false }
  | {
      readonly changed: true;
      readonly index: RepositoryIndex;
      readonly validators: IndexValidators;
      /** The raw text, for an on-disk copy. */
      readonly text: string;
    };

/** A chart version chosen from an index, with where to get it. Internal. */
export interface ChosenChart {
  readonly entry: IndexEntry;
  /** Absolute archive URL. */
  readonly url: string;
}

/**
 * One HTTP(S) chart repository: its `index.yaml` (conditional GETs with the last ETag or
 * Last-Modified, so an unchanged index costs one request and no body) and its chart archives
 * (checked against the index's digest). Errors are {@link RepositoryProblem}s naming chart, version
 * and URL, never credentials.
 */
export class HttpChartRepository {
  /** The repository URL without credentials and with a trailing slash. */
  readonly url: string;
  readonly #base: string;
  readonly #settings: HttpSettings;

  constructor(url: string, settings: HttpSettings) {
    const withSlash = url.endsWith('/') ? url : `${url}/`;
    this.#base = withSlash;
    this.url = displayUrl(withSlash);
    this.#settings = settings;
  }

  /** The index URL. */
  get indexUrl(): string {
    return new URL('index.yaml', this.#base).toString();
  }

  /** Reads `index.yaml`; with validators, a 304 answer is `{ changed: false }`. */
  async index(
    subject: { chart: string; version?: string | undefined },
    validators?: IndexValidators,
    signal?: AbortSignal,
  ): Promise<IndexAnswer> {
    const headers: Record<string, string> = { accept: 'application/x-yaml, text/yaml, */*' };
    if (validators?.etag) headers['if-none-match'] = validators.etag;
    if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
    const where = { ...subject, url: this.url };
    const response = await this.#request(this.indexUrl, where, { headers, signal });
    if (response.status === 304) return { changed: false };
    this.#check(response, where, 'index.yaml');
    const text = response.body.toString('utf8');
    try {
      return {
        changed: true,
        index: parseRepositoryIndex(text),
        text,
        validators: {
          etag: header(response, 'etag'),
          lastModified: header(response, 'last-modified'),
        },
      };
    } catch (error) {
      if (error instanceof IndexProblem) {
        throw new RepositoryProblem('invalid', `${this.url}: ${error.message}`, where);
      }
      throw error;
    }
  }

  /** The newest version of `chart` matching `constraint` in an index; a typed problem when none. */
  choose(index: RepositoryIndex, chart: string, constraint: string | undefined): ChosenChart {
    const versions = index.get(chart);
    const where = { chart, version: constraint, url: this.url };
    if (!versions || versions.length === 0) {
      throw new RepositoryProblem('chart', `chart "${chart}" is not in the index of ${this.url}`, where);
    }
    const version = selectVersion(
      versions.map((v) => v.version),
      constraint,
    );
    const entry = versions.find((v) => v.version === version);
    if (!entry) {
      const known = versions
        .slice(0, 5)
        .map((v) => v.version)
        .join(', ');
      throw new RepositoryProblem(
        'version',
        `chart "${chart}": no version matches "${constraint ?? '*'}" in ${this.url} (it has ${known}${versions.length > 5 ? ', …' : ''})`,
        where,
      );
    }
    const url = archiveUrl(entry, this.indexUrl);
    if (!url) {
      throw new RepositoryProblem('invalid', `chart "${chart}" ${entry.version} has no URL in ${this.url}`, {
        ...where,
        version: entry.version,
      });
    }
    return { entry, url };
  }

  /** Downloads a chosen archive and checks it against the index's digest. */
  async download(chosen: ChosenChart, signal?: AbortSignal): Promise<{ archive: Buffer; digest: string }> {
    const where = { chart: chosen.entry.name, version: chosen.entry.version, url: displayUrl(chosen.url) };
    const response = await this.#request(chosen.url, where, { signal });
    this.#check(response, where, 'the chart archive');
    const digest = sha256Of(response.body);
    const expected = chosen.entry.digest?.toLowerCase().replace(/^sha256:/, '');
    if (expected && digest !== `sha256:${expected}`) {
      throw new RepositoryProblem(
        'digest',
        `chart "${where.chart}" ${where.version} from ${where.url} has digest ${digest}, but the index of ${this.url} says sha256:${expected}: the archive was not used`,
        where,
      );
    }
    return { archive: response.body, digest };
  }

  async #request(
    url: string,
    where: { chart: string; version?: string | undefined; url: string },
    options: { headers?: Record<string, string>; signal?: AbortSignal | undefined },
  ): Promise<HttpResponse> {
    try {
      return await send(url, this.#settings, {
        ...options,
        credentialsOrigin: new URL(this.#base).origin,
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const reason = error instanceof HttpFailure ? error.reason : String(error);
      throw new RepositoryProblem(
        'unreachable',
        `chart "${where.chart}"${where.version ? ` ${where.version}` : ''}: cannot reach ${displayUrl(url)}: ${reason}`,
        where,
      );
    }
  }

  #check(
    response: HttpResponse,
    where: { chart: string; version?: string | undefined; url: string },
    what: string,
  ): void {
    const { status } = response;
    if (status >= 200 && status < 300) return;
    const chart = `chart "${where.chart}"${where.version ? ` ${where.version}` : ''}`;
    const url = displayUrl(response.url);
    if (status === 401 || status === 403) {
      throw new RepositoryProblem(
        'auth',
        `${chart}: ${url} refused ${this.#settings.auth ? 'the credentials' : 'anonymous access'} (HTTP ${status}) while reading ${what}`,
        where,
      );
    }
    if (status === 404) {
      const kind = what === 'index.yaml' ? 'invalid' : 'chart';
      throw new RepositoryProblem(kind, `${chart}: ${url} has no ${what} (HTTP 404)`, where);
    }
    throw new RepositoryProblem(
      'unreachable',
      `${chart}: ${url} answered HTTP ${status} while reading ${what}`,
      where,
    );
  }
}

function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
