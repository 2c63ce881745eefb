import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConformance, type SourceFixture, sourceConformance } from '@gitops-kit/core/conformance';
import { S3Source } from '@gitops-kit/s3-source';
import { s3Client, testenv } from '@gitops-kit/testenv';
import { describe, it } from 'vitest';
import { BucketWriter } from './support/bucket-writer.js';

// S3Source against the real S3 server (MinIO) passes the Source kit.
let counter = 0;

async function s3Fixture(): Promise<SourceFixture & { cleanup: () => Promise<void> }> {
  const s3 = await testenv.s3();
  const client = s3Client(s3);
  const bucket = `conformance-${process.pid}-${Date.now().toString(36)}-${++counter}`;
  await s3.createBucket(bucket, { versioning: false });
  const writer = new BucketWriter(client, bucket);
  await writer.put('apps/web.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n');
  const cacheDir = await mkdtemp(join(tmpdir(), 's3-conformance-'));
  const options = {
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
  return {
    source: new S3Source({ ...options, bucket, cacheDir: join(cacheDir, 'good') }),
    change: () => writer.put('apps/web.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web2\n'),
    broken: new S3Source({ ...options, bucket: `${bucket}-missing`, cacheDir: join(cacheDir, 'broken') }),
    cleanup: async () => {
      client.destroy();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

describeConformance({ describe, it }, sourceConformance, s3Fixture, {
  name: 'S3Source passes the Source kit',
});
