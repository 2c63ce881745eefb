import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Client, testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('testenv s3', () => {
  let client: S3Client;

  beforeAll(async () => {
    client = s3Client(await testenv.s3());
  });

  afterAll(() => {
    client.destroy();
  });

  it('reports the MinIO release it runs', async () => {
    const s3 = await testenv.s3();
    expect(s3.version).toMatch(/^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('puts and lists objects in a versioned bucket and keeps every version', async () => {
    const s3 = await testenv.s3();
    const bucket = `smoke-${Date.now().toString(36)}`;
    await s3.createBucket(bucket, { versioning: true });
    const versioning = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    expect(versioning.Status).toBe('Enabled');

    const put = (Key: string, Body: string) =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    const first = await put('app/config.yaml', 'replicas: 1\n');
    const second = await put('app/config.yaml', 'replicas: 2\n');
    await put('app/service.yaml', 'kind: Service\n');
    await put('other/readme.txt', 'not listed under app/\n');
    expect(first.VersionId).toBeTruthy();
    expect(second.VersionId).not.toBe(first.VersionId);

    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'app/' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(['app/config.yaml', 'app/service.yaml']);

    const versions = await client.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'app/config.yaml' }),
    );
    expect(versions.Versions?.map((v) => v.VersionId).sort()).toEqual(
      [first.VersionId, second.VersionId].sort(),
    );

    const old = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'app/config.yaml', VersionId: first.VersionId }),
    );
    expect(await old.Body?.transformToString()).toBe('replicas: 1\n');
    const latest = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'app/config.yaml' }));
    expect(await latest.Body?.transformToString()).toBe('replicas: 2\n');
  });

  it('rejects requests signed with the wrong secret', async () => {
    const s3 = await testenv.s3();
    const bucket = `smoke-auth-${Date.now().toString(36)}`;
    await s3.createBucket(bucket);
    const wrong = s3Client({ ...s3, secretAccessKey: `${s3.secretAccessKey}x` });
    try {
      await expect(wrong.send(new ListObjectsV2Command({ Bucket: bucket }))).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
      });
    } finally {
      wrong.destroy();
    }
  });
});
