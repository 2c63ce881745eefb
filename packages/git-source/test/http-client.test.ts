import { describe, expect, it } from 'vitest';
import { withThinPack } from '../src/http-client.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('withThinPack', () => {
  const pkt = (line: string): string => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
  it('adds thin-pack to the first want line of an incremental request only', () => {
    const want = pkt(`want ${A} multi_ack_detailed ofs-delta\n`);
    const incremental = Buffer.from(`${want}${pkt('deepen 1\n')}0000${pkt(`have ${B}\n`)}${pkt('done\n')}`);
    const out = withThinPack(incremental).toString();
    const first = pkt(`want ${A} multi_ack_detailed ofs-delta thin-pack\n`);
    expect(out).toBe(`${first}${incremental.toString().slice(want.length)}`);
    const clone = Buffer.from(`${want}0000${pkt('done\n')}`);
    expect(withThinPack(clone)).toBe(clone);
    expect(withThinPack(Buffer.from('garbage have '))).toEqual(Buffer.from('garbage have '));
  });
});
