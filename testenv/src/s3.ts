import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { findAsset } from './assets.js';
import { freePort, type ManagedProcess, run, startProcess, waitReady } from './process.js';

/** Connection facts of the S3 server, plain data so it can cross to test workers. */
export interface S3Info {
  /** e.g. `http://127.0.0.1:40123`; use path-style addressing. */
  endpoint: string;
  /** The region the server answers for. */
  region: string;
  /** Root credentials generated for this run. */
  accessKeyId: string;
  secretAccessKey: string;
  /** The server's release, e.g. `RELEASE.2026-02-12T20-18-48Z`. */
  version: string;
}

/** A running MinIO server. */
export interface RunningS3 {
  /** Connection facts. */
  info: S3Info;
  /** Stops the server. */
  stop(): Promise<void>;
}

/** An S3 client for the test server, set up as S3-compatible servers need. */
export function s3Client(info: S3Info): S3Client {
  return new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates a bucket, optionally with versioning enabled. */
export async function createBucket(
  info: S3Info,
  name: string,
  options: { versioning?: boolean } = {},
): Promise<void> {
  const client = s3Client(info);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
    if (options.versioning) {
      await client.send(
        new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    }
  } finally {
    client.destroy();
  }
}

/**
 * Starts MinIO in single-drive mode (which supports versioning) on a free loopback port,
 * with a data folder in `dir` and root credentials generated for this run.
 */
export async function startS3(dir: string): Promise<RunningS3> {
  const binary = findAsset('minio');
  const dataDir = join(dir, 'minio-data');
  await mkdir(dataDir, { recursive: true });
  const [port, consolePort] = [await freePort(), await freePort()];
  const info: S3Info = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: `testenv${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
    version: await minioVersion(binary),
  };
  const proc: ManagedProcess = startProcess({
    name: 'minio',
    binary,
    logPath: join(dir, 'minio.log'),
    args: [
      'server',
      dataDir,
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${consolePort}`,
      '--quiet',
    ],
    env: {
      MINIO_ROOT_USER: info.accessKeyId,
      MINIO_ROOT_PASSWORD: info.secretAccessKey,
      MINIO_REGION: info.region,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      HOME: dir,
    },
  });
  try {
    await waitReady(proc, { binary, port }, async () => {
      const res = await fetch(`${info.endpoint}/minio/health/ready`);
      // Free the connection now rather than when the unread body is garbage-collected.
      await res.body?.cancel();
      return res.ok;
    });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { info, stop: () => proc.stop() };
}

async function minioVersion(binary: string): Promise<string> {
  // "minio version RELEASE.2026-02-12T20-18-48Z (commit-id=...)"
  const out = await run(binary, ['--version']);
  return /RELEASE\.[0-9TZ:-]+/.exec(out)?.[0] ?? out.split('\n')[0]?.trim() ?? 'unknown';
}
