import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { unquoteEtag } from '../src/bucket-client.js';
import { computeRevision, selectVersionsAt } from '../src/object-index.js';

describe('computeRevision', () => {
  const a = { key: 'apps/a.yaml', etag: 'e1', size: 10 };
  const b = { key: 'apps/b.yaml', etag: 'e2', size: 20 };

  it('is sha256 over the sorted "<key> <etag> <size>" lines', () => {
    const expected = createHash('sha256').update('apps/a.yaml e1 10\napps/b.yaml e2 20\n').digest('hex');
    expect(computeRevision([b, a])).toBe(`sha256:${expected}`);
  });

  it('does not depend on listing order and changes with key, ETag or size', () => {
    const base = computeRevision([a, b]);
    expect(computeRevision([b, a])).toBe(base);
    expect(computeRevision([a, { ...b, etag: 'e3' }])).not.toBe(base);
    expect(computeRevision([a, { ...b, size: 21 }])).not.toBe(base);
    expect(computeRevision([a, { ...b, key: 'apps/c.yaml' }])).not.toBe(base);
    expect(computeRevision([a])).not.toBe(base);
  });

  it('sorts by UTF-8 bytes as Go does, not by UTF-16 units as JS does', () => {
    // U+FF5E is EF BD 9E in UTF-8 and sorts before U+1F600 (F0 9F 98 80); in UTF-16 it sorts after.
    const x = { key: '\uff5e', etag: 'x', size: 1 };
    const y = { key: '\u{1f600}', etag: 'y', size: 1 };
    expect(x.key > y.key).toBe(true);
    const expected = createHash('sha256').update(`${x.key} x 1\n${y.key} y 1\n`).digest('hex');
    expect(computeRevision([y, x])).toBe(`sha256:${expected}`);
  });
});

describe('unquoteEtag', () => {
  it('strips the quotes S3 adds and keeps the value opaque', () => {
    expect(unquoteEtag('"abc-3"')).toBe('abc-3');
    expect(unquoteEtag('abc')).toBe('abc');
    expect(unquoteEtag('W/"weak"')).toBe('weak');
    expect(unquoteEtag(undefined)).toBe('');
  });
});

describe('selectVersionsAt', () => {
  const t = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  const version = (key: string, id: string, at: number, etag = id, deleteMarker = false) => ({
    key,
    versionId: id,
    lastModified: t(at),
    deleteMarker,
    etag: deleteMarker ? '' : etag,
    size: deleteMarker ? 0 : 5,
  });

  // Listed as S3 does: by key, newest first.
  const versions = [
    version('a', 'a3', 30),
    version('a', 'a2', 20),
    version('a', 'a1', 10),
    version('b', 'b2', 25, '', true),
    version('b', 'b1', 5),
    version('c', 'c1', 40),
  ];

  it('picks, per key, the newest version not after the time', () => {
    const at = selectVersionsAt(versions, t(22));
    expect(at.map((o) => [o.key, o.versionId])).toEqual([
      ['a', 'a2'],
      ['b', 'b1'],
    ]);
  });

  it('leaves out keys whose pick is a delete marker or that did not exist yet', () => {
    expect(selectVersionsAt(versions, t(26)).map((o) => o.key)).toEqual(['a']);
    expect(selectVersionsAt(versions, t(45)).map((o) => o.versionId)).toEqual(['a3', 'c1']);
    expect(selectVersionsAt(versions, t(1))).toEqual([]);
  });

  it('counts a version written exactly at the time as current', () => {
    expect(selectVersionsAt(versions, t(20)).find((o) => o.key === 'a')?.versionId).toBe('a2');
  });
});
