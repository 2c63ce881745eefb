import type { HttpSettings } from './http.js';
import type { IndexValidators } from './http-repository.js';
import { HttpChartRepository } from './http-repository.js';

/** What a source remembers of its last poll, to make the next one cheap. Internal. */
export interface PollState {
  /** The chart version last served. */
  readonly version: string;
  /** The digest in its revision: the archive's (HTTP) or the manifest's (OCI). */
  readonly digest: string;
  /** The index's ETag / Last-Modified (HTTP). */
  readonly validators?: IndexValidators | undefined;
}

/** The answer of one poll. Internal. */
export type PollAnswer =
  | {
      readonly unchanged: true;
      /** New index validators when the index changed but the chosen chart did not. */
      readonly validators?: IndexValidators | undefined;
    }
  | {
      readonly unchanged: false;
      readonly version: string;
      /** The revision's digest (`sha256:<hex>`). */
      readonly digest: string;
      readonly validators?: IndexValidators | undefined;
      /** Downloads the chart archive, checked against the digest it was announced with. */
      readonly archive: (signal: AbortSignal) => Promise<Buffer>;
    };

/** Where a {@link HelmChartSource} gets its chart: an HTTP repository or an OCI registry. Internal. */
export interface ChartBackend {
  /** The repository URL, without credentials. */
  readonly url: string;
  /** Asks whether the chart changed since `previous`; one request when it has not. */
  poll(
    chart: string,
    constraint: string | undefined,
    previous: PollState | undefined,
    signal: AbortSignal,
  ): Promise<PollAnswer>;
}

/** A chart from an HTTP(S) repository's `index.yaml`. */
export function httpChartBackend(url: string, settings: HttpSettings): ChartBackend {
  const repository = new HttpChartRepository(url, settings);
  return {
    url: repository.url,
    async poll(chart, constraint, previous, signal) {
      const subject = { chart, version: constraint };
      let answer = await repository.index(subject, previous?.validators, signal);
      if (!answer.changed) {
        if (previous) return { unchanged: true };
        answer = await repository.index(subject, undefined, signal);
        if (!answer.changed) throw new Error('the repository answered 304 to an unconditional request');
      }
      const chosen = repository.choose(answer.index, chart, constraint);
      const announced = chosen.entry.digest
        ? `sha256:${chosen.entry.digest.replace(/^sha256:/, '').toLowerCase()}`
        : undefined;
      if (
        previous &&
        announced &&
        previous.version === chosen.entry.version &&
        previous.digest === announced
      ) {
        return { unchanged: true, validators: answer.validators };
      }
      let downloaded: { archive: Buffer; digest: string } | undefined;
      // Without a digest in the index, the revision names the archive's own: it must be read first.
      if (!announced) downloaded = await repository.download(chosen, signal);
      return {
        unchanged: false,
        version: chosen.entry.version,
        digest: announced ?? (downloaded as { digest: string }).digest,
        validators: answer.validators,
        archive: async (s) => downloaded?.archive ?? (await repository.download(chosen, s)).archive,
      };
    },
  };
}
