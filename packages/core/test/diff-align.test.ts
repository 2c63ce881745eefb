import { alignDeclared, diffValues } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';

const sameNumber = (_path: string, a: unknown, b: unknown): boolean =>
  Number.parseFloat(String(a)) === Number(b);

describe('alignDeclared', () => {
  it('drops what declares nothing and takes the live form of equivalent leaves', () => {
    const live = { a: { n: '2.0', s: 'x' }, list: [1, 2], kept: 'live' };
    const desired = { a: { n: 2, s: 'y', gone: null, empty: {} }, list: [1, 2, 3], extra: [] };
    expect(alignDeclared(live, desired, { equivalent: sameNumber })).toEqual({
      a: { n: '2.0', s: 'y' },
      list: [1, 2, 3],
    });
  });

  it('agrees with diffValues(declaredOnly): aligned equals live where no change is found', () => {
    const live = { spec: { a: '1.0', b: [{ c: '3.0' }] } };
    const desired = { spec: { a: 1, b: [{ c: 3, d: null }], e: {} } };
    const options = { declaredOnly: true, equivalent: sameNumber };
    expect(diffValues(live, desired, options)).toEqual([]);
    expect(alignDeclared(live, desired, options)).toEqual(live);
  });

  it('reads each item of a list when there is no live value', () => {
    expect(alignDeclared(undefined, { items: [{ a: null, b: 1 }] })).toEqual({ items: [{ b: 1 }] });
  });
});
