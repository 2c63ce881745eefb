import { ErrorCodes, SourceError } from '@gitops-kit/core';
import { S3ErrorCodes } from '@gitops-kit/s3-source';
import { describe, expect, it } from 'vitest';
import { scrub, toSourceError } from '../src/errors.js';

const context = {
  endpoint: 'https://minio.example:9000',
  bucket: 'configs',
  action: 'listing objects',
  secrets: ['AKIAEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG'],
};

function sdkError(name: string, status: number, message: string): Error {
  const error = new Error(message);
  error.name = name;
  Object.assign(error, { $metadata: { httpStatusCode: status }, $fault: 'client' });
  return error;
}

describe('toSourceError', () => {
  it('maps refused credentials to SOURCE_S3_ACCESS_DENIED without echoing the server text', () => {
    const error = toSourceError(
      sdkError('SignatureDoesNotMatch', 403, 'signature for AKIAEXAMPLEKEY and wJalrXUtnFEMI/K7MDENG wrong'),
      context,
    );
    expect(error.code).toBe(S3ErrorCodes.AccessDenied);
    expect(error.message).toContain('SignatureDoesNotMatch (HTTP 403)');
    expect(error.message).toContain('https://minio.example:9000');
    expect(error.message).not.toContain('AKIAEXAMPLEKEY');
    expect(error.message).not.toContain('wJalrXUtnFEMI');
  });

  it('maps a missing bucket to SOURCE_NOT_FOUND', () => {
    expect(toSourceError(sdkError('NoSuchBucket', 404, 'no'), context).code).toBe(ErrorCodes.SourceNotFound);
  });

  it('finds a network error code in the cause chain', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
    const outer = new Error('request failed', { cause: inner });
    const error = toSourceError(outer, context);
    expect(error.code).toBe(ErrorCodes.SourceFetchFailed);
    expect(error.message).toBe(
      'cannot reach S3 endpoint https://minio.example:9000, bucket "configs" while listing objects: ECONNREFUSED',
    );
  });

  it('scrubs secrets from other server messages and keeps typed errors as they are', () => {
    const error = toSourceError(sdkError('InternalError', 500, 'oops wJalrXUtnFEMI/K7MDENG'), context);
    expect(error.code).toBe(ErrorCodes.SourceFetchFailed);
    expect(error.message).toMatch(/InternalError \(HTTP 500\): oops \*\*\*$/);
    const typed = new SourceError('X', 'y');
    expect(toSourceError(typed, context)).toBe(typed);
  });
});

describe('scrub', () => {
  it('replaces every occurrence and ignores values too short to be secrets', () => {
    expect(scrub('a-secret-a-secret', ['secret', ''])).toBe('a-***-a-***');
  });
});
