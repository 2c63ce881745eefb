import { gunzipSync, gzipSync } from 'node:zlib';
import { RegistryErrorCodes, readTarGz } from '@gitops-kit/registry-source';
import { describe, expect, it } from 'vitest';
import { registryError } from './support/errors.js';
import { tarGz } from './support/flux-artifact.js';

const LIMITS = { maxFiles: 100, maxFileBytes: 1024 * 1024, maxTotalBytes: 4 * 1024 * 1024 };
async function* once(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes;
}
const read = (archive: Buffer, limits = LIMITS) => readTarGz(once(archive), limits, 'test layer');

/** A pax record: `<length> key=value\n`, the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length++;
  return `${length}${body}`;
}

describe('readTarGz', () => {
  it('reads files with modes, normalises ./, skips folders and links, keeps the last copy of a path', async () => {
    const contents = await read(
      tarGz({
        './deploy/': { content: '', type: '5' },
        './deploy/app.yaml': 'first',
        'run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
        'link.yaml': { content: '', type: '2', link: '../../etc/passwd' },
        'deploy/app.yaml#2': 'second',
      }),
    );
    expect(contents.files.map((f) => [f.path, f.content.toString(), f.executable])).toEqual([
      ['deploy/app.yaml', 'second', false],
      ['run.sh', '#!/bin/sh\n', true],
    ]);
    expect(contents.skipped).toEqual(['link.yaml']);
  });

  it('takes long names from pax headers and GNU long-name entries', async () => {
    const long = `${'a'.repeat(80)}/${'b'.repeat(80)}/file.yaml`;
    const contents = await read(
      tarGz({
        PaxHeader: { content: paxRecord('path', long), type: 'x' },
        short1: 'pax',
        '././@LongLink': { content: `${long}.gnu\0`, type: 'L' },
        short2: 'gnu',
      }),
    );
    expect(contents.files.map((f) => f.path)).toEqual([long, `${long}.gnu`]);
  });

  it('refuses paths that leave the folder', async () => {
    for (const bad of ['../x', '/etc/x', 'a/../../x']) {
      const error = await registryError(read(tarGz({ [bad]: 'x' })));
      expect(error.code).toBe(RegistryErrorCodes.BadArchive);
      expect(error.message).toContain(JSON.stringify(bad));
    }
  });

  it('stops at the limits: file count, file size, and total bytes of a gzip bomb', async () => {
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`f${i}`, 'x']));
    expect((await registryError(read(tarGz(many), { ...LIMITS, maxFiles: 4 }))).code).toBe(
      RegistryErrorCodes.TooLarge,
    );
    const big = tarGz({ big: 'y'.repeat(2000) });
    expect((await registryError(read(big, { ...LIMITS, maxFileBytes: 1000 }))).message).toContain(
      'limits.maxFileBytes',
    );
    // 6 MiB of zeros compress to a few KiB.
    const bomb = tarGz({
      a: Buffer.alloc(3 * 1024 * 1024).toString(),
      b: Buffer.alloc(3 * 1024 * 1024).toString(),
    });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const error = await registryError(read(bomb, { ...LIMITS, maxFileBytes: 4 * 1024 * 1024 }));
    expect(error.message).toContain('limits.maxTotalBytes');
  });

  it('drops what follows the end of the archive: record padding is read, a trailing gzip bomb refused', async () => {
    const tar = gunzipSync(tarGz({ 'a.yaml': 'a: 1\n' }));
    // GNU tar pads the archive to its 10 KiB record size.
    const padded = Buffer.concat([tar, Buffer.alloc(10240 - (tar.length % 10240))]);
    const contents = await read(gzipSync(padded));
    expect(contents.files.map((f) => [f.path, f.content.toString()])).toEqual([['a.yaml', 'a: 1\n']]);
    // 5 MiB of zeros after the end block: a few KiB compressed, and not counted as file bytes.
    const bomb = gzipSync(Buffer.concat([tar, Buffer.alloc(5 * 1024 * 1024)]));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const error = await registryError(read(bomb));
    expect(error.code).toBe(RegistryErrorCodes.BadArchive);
    expect(error.message).toContain('follow the end of the archive');
  });

  it('a damaged or truncated archive is a typed error', async () => {
    const good = tarGz({ a: 'x' });
    expect((await registryError(read(good.subarray(0, good.length - 10)))).code).toBe(
      RegistryErrorCodes.BadArchive,
    );
    const raw = gunzipSync(tarGz({ a: 'x' }));
    raw[0] = 'b'.charCodeAt(0); // the name changes, the stored checksum does not
    expect((await registryError(read(gzipSync(raw)))).message).toContain('checksum');
    expect((await registryError(read(Buffer.from('not gzip at all')))).code).toBe(
      RegistryErrorCodes.BadArchive,
    );
  });
});
