import { findSecrets } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';

describe('findSecrets (the credential-leak tests rely on it)', () => {
  const secret = 'AKIAEXAMPLESECRET123';

  it('finds a secret in a non-enumerable cause chain, a Map, a Buffer and in base64', () => {
    const inner = { $response: { body: { req: { _header: `authorization: AWS4 ${secret}` } } } };
    const error = new Error('outer', { cause: new Error('inner', { cause: inner }) });
    expect(findSecrets(error, [secret])).toEqual([
      'error.cause.cause.$response.body.req._header holds AKIA…',
    ]);
    expect(findSecrets(new Map([['k', { deep: secret }]]), [secret])).toHaveLength(1);
    expect(findSecrets({ b: Buffer.from(`x${secret}`) }, [secret])).toHaveLength(1);
    expect(findSecrets({ h: Buffer.from(secret).toString('base64') }, [secret])).toHaveLength(1);
  });

  it('finds nothing where nothing is, and survives cycles', () => {
    const a: Record<string, unknown> = { name: 'safe' };
    a.self = a;
    expect(findSecrets(a, ['hunter2-secret'])).toEqual([]);
  });

  it('reads non-enumerable and symbol-keyed properties, Set entries, Map keys and typed arrays', () => {
    const hidden = {};
    Object.defineProperty(hidden, 'request', { value: { header: secret }, enumerable: false });
    expect(findSecrets(hidden, [secret])).toEqual(['error.request.header holds AKIA…']);
    expect(findSecrets({ [Symbol('s')]: secret }, [secret])).toEqual(['error.Symbol(s) holds AKIA…']);
    expect(findSecrets(new Set(['safe', { token: secret }]), [secret])).toEqual([
      'error.<entry 1>.token holds AKIA…',
    ]);
    expect(findSecrets(new Map([[secret, 1]]), [secret])).toEqual(['error.<key> holds AKIA…']);
    const bytes = new TextEncoder().encode(`--${secret}--`);
    expect(findSecrets({ view: new DataView(bytes.buffer), raw: bytes.buffer }, [secret])).toEqual([
      'error.view holds AKIA…',
      'error.raw holds AKIA…',
    ]);
  });

  it('finds a secret encoded inside a larger base64 or base64url value, at any byte alignment', () => {
    for (const prefix of ['', 'u', 'u:']) {
      const basic = `Basic ${Buffer.from(`${prefix}${secret}`).toString('base64')}`;
      expect(findSecrets({ authorization: basic }, [secret]), prefix).toEqual([
        'error.authorization holds AKIA…',
      ]);
    }
    const urlSafe = Buffer.from(`??>${secret}`).toString('base64url');
    expect(findSecrets({ token: urlSafe }, [secret])).toHaveLength(1);
  });

  it('ignores empty needles and does not look for short ones in base64', () => {
    expect(findSecrets({ a: 'anything' }, [''])).toEqual([]);
    expect(findSecrets({ a: Buffer.from('abc').toString('base64') }, ['abc'])).toEqual([]);
    expect(findSecrets({ a: 'xabcx' }, ['abc'])).toEqual(['error.a holds abc…']);
  });
});
