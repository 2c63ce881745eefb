import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Artifact, Source } from '../types.js';
import {
  abortedSignal,
  type ConformanceCheck,
  type ConformanceKit,
  expectRejection,
  expectThat,
  expectTypedRejection,
} from './check.js';
import { fingerprintTree } from './tree.js';

/** The Source kit: what the Reconciler relies on when it fetches. */

/** What the Source kit needs from the author of a Source, made fresh for every check. */
export interface SourceFixture {
  /** The source under test, pointing at content that exists. */
  readonly source: Source;
  /** Changes the content the source reads (a new commit, a new object), so the next fetch gives a new revision. Optional. */
  readonly change?: (() => Promise<void>) | undefined;
  /** A source of the same kind that cannot fetch (a missing ref, bucket or folder). Optional. */
  readonly broken?: Source | undefined;
}

const signal = (): AbortSignal => AbortSignal.timeout(120_000);

type Check = ConformanceCheck<SourceFixture>;

const DIGEST = /^[a-z0-9]+:[0-9a-f]{16,}$/;

async function fetchOnce(source: Source, previous?: Artifact): Promise<Artifact> {
  return source.fetch({ signal: signal(), previous });
}

const fetchGivesArtifact: Check = {
  name: 'source/fetch-gives-an-artifact',
  description:
    'fetch resolves an artifact: a readable revision, an `<algorithm>:<hex>` digest, an absolute folder that exists, metadata',
  stage: 'source',
  async run({ source }) {
    expectThat(
      this,
      typeof source.description === 'string' && source.description.length > 0,
      'the source has no description',
    );
    const artifact = await fetchOnce(source);
    expectThat(
      this,
      typeof artifact.revision === 'string' && artifact.revision.length > 0,
      'the artifact has no revision',
    );
    expectThat(
      this,
      DIGEST.test(artifact.digest),
      `the digest ${JSON.stringify(artifact.digest)} is not <algorithm>:<hex>`,
    );
    expectThat(this, isAbsolute(artifact.dir), `the folder ${artifact.dir} is not absolute`);
    const info = await stat(artifact.dir).catch(() => undefined);
    expectThat(this, info?.isDirectory() === true, `the folder ${artifact.dir} does not exist`);
    expectThat(this, typeof artifact.meta === 'object' && artifact.meta !== null, 'the artifact has no meta');
    return undefined;
  },
};

const sameContentSameDigest: Check = {
  name: 'source/same-content-same-digest',
  description:
    'fetching unchanged content again (with and without `previous`) gives the same revision and digest',
  stage: 'source',
  async run({ source }) {
    const first = await fetchOnce(source);
    const withPrevious = await fetchOnce(source, first);
    const fresh = await fetchOnce(source);
    for (const [what, next] of [
      ['with previous', withPrevious],
      ['without previous', fresh],
    ] as const) {
      expectThat(
        this,
        next.digest === first.digest,
        `a second fetch ${what} gave digest ${next.digest}, the first ${first.digest}`,
      );
      expectThat(
        this,
        next.revision === first.revision,
        `a second fetch ${what} gave revision ${next.revision}, the first ${first.revision}`,
      );
      expectThat(
        this,
        (await fingerprintTree(next.dir)) === (await fingerprintTree(first.dir)),
        `a second fetch ${what} gave other files for the same digest`,
      );
    }
    return undefined;
  },
};

const artifactIsImmutable: Check = {
  name: 'source/artifact-is-immutable',
  description:
    'an artifact handed out never changes: a later fetch (of changed content, when the fixture can change it) gives a new digest and folder and leaves the old files as they were',
  stage: 'source',
  async run(fixture) {
    const first = await fetchOnce(fixture.source);
    const before = await fingerprintTree(first.dir);
    expectThat(this, before !== undefined, `the folder ${first.dir} cannot be read`);
    if (fixture.change) {
      await fixture.change();
      const next = await fetchOnce(fixture.source, first);
      expectThat(this, next.digest !== first.digest, 'changed content gave the same digest');
      expectThat(this, next.revision !== first.revision, 'changed content gave the same revision');
      expectThat(
        this,
        next.dir !== first.dir,
        'changed content was written into the folder of the previous artifact',
      );
    } else {
      await fetchOnce(fixture.source, first);
    }
    // The previous artifact may be collected later, but while it exists it holds what it held.
    const after = await fingerprintTree(first.dir);
    expectThat(this, after === before, `the files of ${first.revision} changed after a later fetch`);
    return undefined;
  },
};

const abortHonoured: Check = {
  name: 'source/aborted-signal-stops-work',
  description: 'fetch rejects when its signal is already aborted',
  stage: 'source',
  async run({ source }) {
    await expectRejection(
      this,
      source.fetch({ signal: abortedSignal() }),
      'fetch resolved although its signal was aborted',
    );
    return undefined;
  },
};

const errorsAreTyped: Check = {
  name: 'source/errors-are-typed',
  description:
    'a fetch that cannot succeed rejects with a gitops-kit error of stage `source` and a stable code',
  stage: 'source',
  async run({ broken }) {
    if (!broken) return { skipped: true, reason: 'the fixture has no broken source' };
    await expectTypedRejection(
      this,
      broken.fetch({ signal: signal() }),
      'source',
      'fetching from the broken source',
    );
    return undefined;
  },
};

const releaseKeepsCurrent: Check = {
  name: 'source/release-keeps-the-current-artifact',
  description:
    'release (when present) of a replaced artifact leaves the current one whole, and the next fetch still gives it',
  stage: 'source',
  async run({ source, change }) {
    if (!source.release) return { skipped: true, reason: 'the source has no release' };
    if (!change) return { skipped: true, reason: 'the fixture cannot change the content' };
    const old = await fetchOnce(source);
    await change();
    const current = await fetchOnce(source, old);
    const before = await fingerprintTree(current.dir);
    await source.release(old);
    expectThat(
      this,
      (await fingerprintTree(current.dir)) === before,
      'releasing the old artifact changed the current one',
    );
    const again = await fetchOnce(source, current);
    expectThat(this, again.digest === current.digest, 'after a release the next fetch gave another digest');
    expectThat(
      this,
      (await fingerprintTree(again.dir)) === before,
      'after a release the next fetch gave other files',
    );
    return undefined;
  },
};

/** The Source conformance kit. */
export const sourceConformance: ConformanceKit<SourceFixture> = {
  name: 'source',
  checks: [
    fetchGivesArtifact,
    sameContentSameDigest,
    artifactIsImmutable,
    abortHonoured,
    errorsAreTyped,
    releaseKeepsCurrent,
  ],
};
