import { describe, expect, it } from 'vitest';
import { lsRefsRequest, parseLsRefs } from '../src/ls-refs.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('direct ls-refs', () => {
  const line = (text: string): string => `${(text.length + 4).toString(16).padStart(4, '0')}${text}`;

  it('writes a protocol v2 ls-refs request with peeling and the prefix', () => {
    expect(lsRefsRequest('refs/heads/main').toString()).toBe(
      `0014command=ls-refs\n00010009peel\n001fref-prefix refs/heads/main\n0000`,
    );
  });

  it('reads refs and peeled tags, and refuses anything that is not a complete answer', () => {
    const body = `${line(`${A} refs/heads/main\n`)}${line(`${B} refs/tags/v1 peeled:${C}\n`)}0000`;
    expect(parseLsRefs(Buffer.from(body))).toEqual([
      { name: 'refs/heads/main', oid: A, peeled: undefined },
      { name: 'refs/tags/v1', oid: B, peeled: C },
    ]);
    expect(parseLsRefs(Buffer.from('0000'))).toEqual([]);
    expect(parseLsRefs(Buffer.from(line(`${A} refs/heads/main\n`)))).toBeUndefined(); // no flush
    expect(parseLsRefs(Buffer.from(`${line('ERR upload-pack: not our ref\n')}0000`))).toBeUndefined();
    expect(parseLsRefs(Buffer.from(`${line(`${A} HEAD\0multi_ack thin-pack\n`)}0000`))).toBeUndefined(); // v0
  });
});
