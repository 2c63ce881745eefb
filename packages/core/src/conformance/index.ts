/**
 * `@gitops-kit/core/conformance`: the kits a Source, Renderer or Target author runs against their
 * implementation. Each check is a named, framework-agnostic async function over a fixture the
 * author makes; `runConformance` gives typed results, `describeConformance` declares one Vitest (or
 * Jest) test per check. A failed check throws a `ConformanceError` naming it.
 *
 * @packageDocumentation
 * @module @gitops-kit/core/conformance
 */
export {
  assertConformance,
  type CheckResult,
  type CheckSkipped,
  type ConformanceCheck,
  type ConformanceKit,
  type ConformanceReport,
  type Disposable,
  type FixtureFactory,
  type RunConformanceOptions,
  runCheck,
  runConformance,
  selectChecks,
} from './check.js';
export { type RendererFixture, rendererConformance } from './renderer-kit.js';
export { type SourceFixture, sourceConformance } from './source-kit.js';
export { type TargetFixture, targetConformance } from './target-kit.js';
export {
  type ConformanceTestApi,
  type ConformanceTestContext,
  type DescribeConformanceOptions,
  describeConformance,
} from './vitest.js';
