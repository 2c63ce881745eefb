import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import type { Artifact, Manifest } from '@gitops-kit/core';
import { findAsset, findProviderMirror, type S3Env, s3Client, testenv } from '@gitops-kit/testenv';
import { TofuRenderer, TofuTarget } from '../../src/index.js';

/** Shared by the OpenTofu target's integration tests: tofu, the provider mirror, and MinIO for state. */

let counter = 0;
const folders: string[] = [];

/** A temporary folder removed by {@link removeFolders}. */
export async function folder(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tofu-${prefix}-`));
  folders.push(dir);
  return dir;
}

/** Removes every folder made by {@link folder}. */
export async function removeFolders(): Promise<void> {
  for (const dir of folders.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** A bucket for states, and a client to read them. */
export interface StateBucket {
  readonly s3: S3Env;
  readonly bucket: string;
  readonly client: S3Client;
}

/** A fresh bucket on the test S3 server. */
export async function stateBucket(): Promise<StateBucket> {
  const s3 = await testenv.s3();
  const bucket = `tofu-${process.pid}-${Date.now().toString(36)}-${++counter}`;
  await s3.createBucket(bucket, { versioning: false });
  return { s3, bucket, client: s3Client(s3) };
}

/** A TofuTarget with its own work folder and state key. */
export async function tofuTarget(state: StateBucket, key: string): Promise<TofuTarget> {
  return new TofuTarget({
    name: `tofu-${key}`,
    binary: findAsset('tofu'),
    workDir: await folder('work'),
    providerMirror: findProviderMirror(),
    backend: {
      bucket: state.bucket,
      key,
      region: state.s3.region,
      endpoint: state.s3.endpoint,
      credentials: { accessKeyId: state.s3.accessKeyId, secretAccessKey: state.s3.secretAccessKey },
    },
  });
}

/** The state object as stored (undefined before the first apply), read straight from S3. */
export async function readState(
  state: StateBucket,
  key: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const object = await state.client.send(new GetObjectCommand({ Bucket: state.bucket, Key: key }));
    return JSON.parse((await object.Body?.transformToString()) ?? '{}') as Record<string, unknown>;
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** Resource addresses (`type.name`) in a stored state. */
export function addressesIn(state: Record<string, unknown> | undefined): string[] {
  const resources = (state?.resources ?? []) as { mode: string; type: string; name: string }[];
  return resources.filter((r) => r.mode === 'managed').map((r) => `${r.type}.${r.name}`);
}

/** Writes `files` into a new folder and renders it as the TofuRenderer would an artifact. */
export async function render(files: Record<string, string>): Promise<Manifest[]> {
  const dir = await folder('code');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const artifact: Artifact = { revision: 'test', digest: 'sha256:0000000000000000', dir, meta: {} };
  return new TofuRenderer().render(artifact, { signal: AbortSignal.timeout(10_000) });
}

/** A small root module: two terraform_data resources, a time_static from the mirror, an output and a check. */
export function moduleCode(options: { color?: string; size?: string } = {}): Record<string, string> {
  return {
    'main.tf': `terraform {
  required_providers {
    time = { source = "hashicorp/time", version = "0.14.2" }
  }
}

resource "terraform_data" "web" {
  input = { color = "${options.color ?? 'blue'}" }
}

resource "terraform_data" "db" {
  input = { size = "${options.size ?? 'small'}" }
}

resource "time_static" "created" {
  triggers = { db = terraform_data.db.id }
}
`,
    'checks.tf': `output "db_size" {
  value = terraform_data.db.output.size
}

check "db_size_is_supported" {
  assert {
    condition     = terraform_data.db.output.size != "huge"
    error_message = "the db size huge is not supported"
  }
}
`,
  };
}
