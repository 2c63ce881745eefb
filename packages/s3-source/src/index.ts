export type {
  BucketClient,
  GetObjectOptions,
  HeadObjectOptions,
  HeadResult,
  ListedObject,
  ListedVersion,
  ObjectBody,
} from './bucket-client.js';
export { unquoteEtag } from './bucket-client.js';
export { S3ErrorCodes } from './errors.js';
export type { IndexEntry } from './object-index.js';
export { computeRevision, selectVersionsAt } from './object-index.js';
export type { RequestStats } from './request-stats.js';
export type { S3ConnectionOptions, S3Credentials } from './s3-bucket-client.js';
export { createS3Client, S3BucketClient } from './s3-bucket-client.js';
export type { S3SourceLimits, S3SourceOptions } from './s3-source.js';
export { S3Source } from './s3-source.js';
