/**
 * `pnpm bench:s3`: what S3Source costs against a real S3 server (MinIO from @gitops-kit/testenv)
 * with 2,000 objects, all in one run:
 *   1. first sync (every object downloaded), in seconds;
 *   2. a poll where nothing changed: HTTP requests, GetObject requests and body bytes;
 *   3. a poll after one object changed: GetObject requests;
 *   4. a no-change poll with `changeMarker` set (extra, opt-in).
 * The last line printed is one JSON object with the figures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { S3Source, type S3SourceOptions } from '@gitops-kit/s3-source';
import { s3Client, startTestenv } from '@gitops-kit/testenv';
// The package's test helper resolves the AWS SDK from the package (the workspace root does not depend on it).
import { BucketWriter } from '../packages/s3-source/test/support/bucket-writer.js';

const OBJECTS = 2000;
const signal = new AbortController().signal;

function manifest(i: number, version: string): string {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: config-${i}`,
    `  namespace: team-${i % 20}`,
    '  labels:',
    '    app.kubernetes.io/part-of: bench',
    'data:',
    `  version: "${version}"`,
    `  payload: "${'x'.repeat(200)}"`,
    '',
  ].join('\n');
}

const keyOf = (i: number): string => `clusters/prod/team-${i % 20}/config-${i}.yaml`;

async function main(): Promise<void> {
  const env = await startTestenv({ s3: true, kube: false, git: false, tools: false });
  const cacheDir = await mkdtemp(join(tmpdir(), 's3-bench-cache-'));
  try {
    const s3 = env.s3;
    if (!s3) throw new Error('testenv did not start the S3 server');
    const bucket = 'bench';
    await s3.createBucket(bucket);
    const client = s3Client(s3);
    const writer = new BucketWriter(client, bucket);

    // Seed the bucket (not measured).
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < OBJECTS) {
          const i = next++;
          await writer.put(keyOf(i), manifest(i, 'v1'));
        }
      }),
    );
    console.log(
      `seeded ${OBJECTS} objects in ${((performance.now() - seedStart) / 1000).toFixed(2)} s (MinIO ${s3.version})`,
    );

    const options: S3SourceOptions = {
      endpoint: s3.endpoint,
      region: s3.region,
      bucket,
      prefix: 'clusters/prod',
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      cacheDir,
    };
    const source = new S3Source(options);

    // 1. First sync.
    const t0 = performance.now();
    const first = await source.fetch({ signal });
    const firstSyncS = (performance.now() - t0) / 1000;
    const firstStats = source.stats();
    console.log(
      `first sync: ${firstSyncS.toFixed(2)} s, ${firstStats.requests} requests ` +
        `(${JSON.stringify(firstStats.byOperation)}), ${firstStats.bytesDownloaded} bytes, revision ${first.revision}`,
    );

    // 2. A poll where nothing changed.
    source.resetStats();
    const t1 = performance.now();
    const same = await source.fetch({ signal });
    const noChangeMs = performance.now() - t1;
    const noChange = source.stats();
    if (same.revision !== first.revision || same.dir !== first.dir)
      throw new Error('a no-change poll moved the artifact');
    console.log(
      `no-change poll: ${noChangeMs.toFixed(0)} ms, ${noChange.requests} requests ` +
        `(${JSON.stringify(noChange.byOperation)}), ${noChange.bytesDownloaded} bytes`,
    );

    // 3. One object changed.
    await writer.put(keyOf(1234), manifest(1234, 'v2'));
    source.resetStats();
    const t2 = performance.now();
    const changed = await source.fetch({ signal });
    const oneChangeMs = performance.now() - t2;
    const oneChange = source.stats();
    if (changed.revision === first.revision) throw new Error('the change was not seen');
    console.log(
      `one object changed: ${oneChangeMs.toFixed(0)} ms, ${oneChange.requests} requests ` +
        `(${JSON.stringify(oneChange.byOperation)}), ${oneChange.bytesDownloaded} bytes`,
    );
    // 4. The same no-change poll with a change marker (an object the publisher rewrites last).
    await writer.put('clusters/prod/.published', new Date().toISOString());
    const marked = new S3Source({ ...options, changeMarker: 'clusters/prod/.published' });
    await marked.fetch({ signal });
    marked.resetStats();
    const t3 = performance.now();
    const markedSame = await marked.fetch({ signal });
    const markerMs = performance.now() - t3;
    const markerStats = marked.stats();
    if (markedSame.revision !== changed.revision)
      throw new Error('the marker poll returned another revision');
    marked.destroy();
    console.log(
      `no-change poll with changeMarker: ${markerMs.toFixed(0)} ms, ${markerStats.requests} requests ` +
        `(${JSON.stringify(markerStats.byOperation)}), ${markerStats.bytesDownloaded} bytes`,
    );

    console.log(
      'peer, Flux Bucket source (from its code, not measured): a no-change poll is HEAD bucket + GET .sourceignore ' +
        '+ 2 list pages = 4 requests, 1 GET; any change downloads every object again (2,000 GETs).',
    );
    client.destroy();
    source.destroy();

    const result = {
      objects: OBJECTS,
      firstSyncS: Number(firstSyncS.toFixed(3)),
      noChangeRequests: noChange.requests,
      noChangeGets: noChange.byOperation.GetObject ?? 0,
      oneChangeGets: oneChange.byOperation.GetObject ?? 0,
      noChangeBytes: noChange.bytesDownloaded,
      markerNoChangeRequests: markerStats.requests,
    };
    console.log(JSON.stringify(result));
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
    await env.stop();
  }
}

await main();
