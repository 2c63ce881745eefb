import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { formatRef, refOf } from '../refs.js';
import type { Artifact, Renderer } from '../types.js';
import {
  abortedSignal,
  type ConformanceCheck,
  type ConformanceKit,
  expectRejection,
  expectThat,
  expectTypedRejection,
} from './check.js';
import { fingerprintTree } from './tree.js';

/** The Renderer kit: what the Reconciler relies on when it renders. */

/** What the Renderer kit needs from the author of a Renderer, made fresh for every check. */
export interface RendererFixture {
  /** The renderer under test. */
  readonly renderer: Renderer;
  /** An artifact it renders into at least one manifest. */
  readonly artifact: Artifact;
  /** An artifact it must refuse (bad syntax, a missing field). Optional. */
  readonly broken?: Artifact | undefined;
}

const signal = (): AbortSignal => AbortSignal.timeout(120_000);

type Check = ConformanceCheck<RendererFixture>;

const deterministic: Check = {
  name: 'renderer/output-is-deterministic',
  description:
    'rendering the same artifact twice gives the same manifests in the same order, and leaves the artifact as it was',
  stage: 'render',
  async run({ renderer, artifact }) {
    const before = await fingerprintTree(artifact.dir);
    const first = await renderer.render(artifact, { signal: signal() });
    const second = await renderer.render(artifact, { signal: signal() });
    expectThat(this, first.length > 0, 'the artifact rendered to nothing');
    expectThat(this, isDeepStrictEqual(first, second), 'two renders of the same artifact differ');
    expectThat(
      this,
      (await fingerprintTree(artifact.dir)) === before,
      'rendering changed the artifact folder',
    );
    if (renderer.cacheKey) {
      const [a, b] = [
        await renderer.cacheKey({ signal: signal() }),
        await renderer.cacheKey({ signal: signal() }),
      ];
      expectThat(this, a === b, 'cacheKey differs between two calls with the same options');
    }
    return undefined;
  },
};

const originsNameFileAndLine: Check = {
  name: 'renderer/origins-name-file-and-line',
  description:
    'every manifest names the artifact file it came from (relative, `/`-separated, existing), its document index and its line',
  stage: 'render',
  async run({ renderer, artifact }) {
    const manifests = await renderer.render(artifact, { signal: signal() });
    for (const { object, origin } of manifests) {
      const what = `${formatRef(refOf(object))} (${origin.file}:${origin.line})`;
      expectThat(this, typeof origin.file === 'string' && origin.file.length > 0, `${what}: no file`);
      const parts = origin.file.split('/');
      expectThat(
        this,
        !origin.file.startsWith('/') && !origin.file.includes('\\') && !parts.includes('..'),
        `${what}: the file is not a relative / path`,
      );
      const info = await stat(join(artifact.dir, ...parts)).catch(() => undefined);
      expectThat(this, info?.isFile() === true, `${what}: the file is not in the artifact`);
      expectThat(
        this,
        Number.isInteger(origin.line) && origin.line >= 1,
        `${what}: the line is not a 1-based number`,
      );
      expectThat(
        this,
        Number.isInteger(origin.documentIndex) && origin.documentIndex >= 0,
        `${what}: the document index is not a 0-based number`,
      );
      expectThat(
        this,
        typeof object.apiVersion === 'string' &&
          typeof object.kind === 'string' &&
          typeof object.metadata?.name === 'string',
        `${what}: not an object with apiVersion, kind and metadata.name`,
      );
    }
    return undefined;
  },
};

const abortHonoured: Check = {
  name: 'renderer/aborted-signal-stops-work',
  description: 'render rejects when its signal is already aborted',
  stage: 'render',
  async run({ renderer, artifact }) {
    await expectRejection(
      this,
      renderer.render(artifact, { signal: abortedSignal() }),
      'render resolved although its signal was aborted',
    );
    return undefined;
  },
};

const errorsAreTyped: Check = {
  name: 'renderer/errors-are-typed',
  description:
    'an artifact that cannot be rendered is refused with a gitops-kit error of stage `render` that names the file',
  stage: 'render',
  async run({ renderer, broken }) {
    if (!broken) return { skipped: true, reason: 'the fixture has no broken artifact' };
    const error = await expectTypedRejection(
      this,
      renderer.render(broken, { signal: signal() }),
      'render',
      'rendering the broken artifact',
    );
    expectThat(
      this,
      typeof error.location?.file === 'string',
      `the error names no file (${error.message.split('\n')[0]})`,
    );
    return undefined;
  },
};

/** The Renderer conformance kit. */
export const rendererConformance: ConformanceKit<RendererFixture> = {
  name: 'renderer',
  checks: [deterministic, originsNameFileAndLine, abortHonoured, errorsAreTyped],
};
