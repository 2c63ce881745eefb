/**
 * `@gitops-kit/core/internal`: plumbing shared by gitops-kit's own packages (git-source, s3-source,
 * k8s-target, testenv, benchmarks). It is NOT part of the public API: names here change or go
 * away in any release without notice. Users import `@gitops-kit/core` and `@gitops-kit/core/testing`.
 *
 * One export statement per module, sorted by path.
 *
 * @internal
 * @packageDocumentation
 */
export { storedSecretData } from './diff/mask.js';
export { joinPointer, splitPointer } from './diff/pointer.js';
export { isRecord, type JsonRecord } from './diff/values.js';
export { runProcess } from './render/process.js';
export { byManifestOrder, type Problem, summarizeProblems } from './summary.js';
export { hmacSha256 } from './webhook/verify.js';
