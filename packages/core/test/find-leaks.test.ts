import { describe, expect, it } from 'vitest';
import { findLeaks } from './support/find-leaks.js';

describe('findLeaks (the credential-leak tests rely on it)', () => {
  it('finds a secret in a non-enumerable cause chain, a Map, a Buffer and in base64', () => {
    const secret = 'AKIAEXAMPLESECRET123';
    const inner = { $response: { body: { req: { _header: `authorization: AWS4 ${secret}` } } } };
    const error = new Error('outer', { cause: new Error('inner', { cause: inner }) });
    expect(findLeaks(error, [secret]).map((l) => l.path)).toEqual([
      'value.cause.cause.$response.body.req._header',
    ]);
    expect(findLeaks(new Map([['k', { deep: secret }]]), [secret])).toHaveLength(1);
    expect(findLeaks({ b: Buffer.from(`x${secret}`) }, [secret])).toHaveLength(1);
    expect(findLeaks({ h: Buffer.from(secret).toString('base64') }, [secret])).toHaveLength(1);
  });

  it('finds nothing where nothing is, and survives cycles', () => {
    const a: Record<string, unknown> = { name: 'safe' };
    a.self = a;
    expect(findLeaks(a, ['hunter2-secret'])).toEqual([]);
  });
});
