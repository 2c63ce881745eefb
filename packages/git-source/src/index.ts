/**
 * `@gitops-kit/git-source`: a Source over Git repositories (HTTP(S) with isomorphic-git, or the
 * native git program for speed and SSH). The public surface is the source, its options, its error
 * codes, and the engine contract for those who bring their own engine; the rest is internal.
 *
 * @packageDocumentation
 * @module @gitops-kit/git-source
 */
export type { ArtifactLimits } from '@gitops-kit/core';
export type { GitAuth } from './auth.js';
export { normaliseRepoUrl } from './auth.js';
export type {
  EngineName,
  FetchRequest,
  GitEngine,
  GitObject,
  GitProgress,
  RemoteContext,
  TreeFile,
} from './engine.js';
export { GitErrorCodes, TransportError, type TransportFailure } from './errors.js';
export { GitSource, type GitSourceOptions, type GitVerifyOptions } from './git-source.js';
export { IsomorphicGitEngine, type NodeFs } from './iso-engine.js';
export { NativeGitEngine, type NativeGitEngineOptions } from './native-engine.js';
export type { GitRef, RemoteRef } from './ref.js';
export { commitOfRevision, formatRevision } from './revision.js';
export type { VerifyMode } from './signature.js';
