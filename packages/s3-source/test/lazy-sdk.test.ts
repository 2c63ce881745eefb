import { modulesLoadedByImport, modulesOf } from '@gitops-kit/testenv';
import { describe, expect, it } from 'vitest';

const sdk = (urls: readonly string[]): string[] => modulesOf(urls, '@aws-sdk/client-s3');

describe('s3-source loads the AWS SDK only for an S3 source', () => {
  it('importing the package loads no AWS SDK module; building an S3Source does', async () => {
    expect(sdk(await modulesLoadedByImport(['@gitops-kit/s3-source']))).toEqual([]);
    const built = await modulesLoadedByImport(
      ['@gitops-kit/s3-source'],
      "new m0.S3Source({ bucket: 'b', endpoint: 'http://127.0.0.1:1' });",
    );
    expect(sdk(built).length).toBeGreaterThan(0);
  }, 60_000);
});
