/**
 * `@gitops-kit/s3-source`: a Source over any S3-compatible bucket. The public surface is the
 * source, its options and limits, its error codes, request statistics, the S3 client factory it
 * uses, and the `BucketClient` contract for those who bring their own transport; the rest is internal.
 *
 * @packageDocumentation
 * @module @gitops-kit/s3-source
 */
export type { ArtifactLimits } from '@gitops-kit/core';
export type {
  BucketClient,
  GetObjectOptions,
  HeadObjectOptions,
  HeadResult,
  ListedObject,
  ListedVersion,
  ObjectBody,
} from './bucket-client.js';
export { S3ErrorCodes } from './errors.js';
export type { RequestStats } from './request-stats.js';
export { createS3Client, type S3ConnectionOptions, type S3Credentials } from './s3-bucket-client.js';
export { S3Source, type S3SourceLimits, type S3SourceOptions } from './s3-source.js';
