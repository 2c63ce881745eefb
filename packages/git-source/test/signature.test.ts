import { readKeys } from 'openpgp';
import { describe, expect, it } from 'vitest';
import { parseCommit, parseTag } from '../src/objects.js';
import { verifyDetached } from '../src/signature.js';
import { signPayload, testKey } from './support/helpers.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

const commitText = (extra: string): string =>
  `tree ${A}\nparent ${B}\nauthor Ann <ann@example.com> 1700000000 +0100\ncommitter Bob <bob@example.com> 1700000060 +0000\n${extra}\nthe message\n\nbody\n`;

describe('objects and signatures', () => {
  it('cuts the signed payload out of a commit and verifies it', async () => {
    const key = await testKey('Signer');
    const unsigned = commitText('');
    const signature = (await signPayload(unsigned, key)).trim();
    const signed = unsigned.replace(
      '\n\nthe message',
      `\ngpgsig ${signature.split('\n').join('\n ')}\n\nthe message`,
    );
    const parsed = parseCommit(new TextEncoder().encode(signed));
    expect(new TextDecoder().decode(parsed.payload)).toBe(unsigned);
    expect(parsed.signature?.trim()).toBe(signature);
    expect(parsed.headers.get('author')).toBe('Ann <ann@example.com> 1700000000 +0100');
    expect(parsed.message).toBe('the message\n\nbody\n');

    const keys = await readKeys({ armoredKeys: key.publicKey });
    expect(await verifyDetached(parsed.payload, parsed.signature as string, keys)).toMatchObject({
      userId: expect.stringContaining('Signer'),
    });
    const tampered = new TextEncoder().encode(unsigned.replace('body', 'evil'));
    expect(await verifyDetached(tampered, parsed.signature as string, keys)).toBeUndefined();
    const stranger = await readKeys({ armoredKeys: (await testKey('Stranger')).publicKey });
    expect(await verifyDetached(parsed.payload, parsed.signature as string, stranger)).toBeUndefined();
    expect(await verifyDetached(parsed.payload, 'not a signature', keys)).toBeUndefined();
  });

  it('reads an unsigned commit as its own payload, and a tag signature from the message end', async () => {
    const unsigned = commitText('');
    const plain = parseCommit(new TextEncoder().encode(unsigned));
    expect(plain.signature).toBeUndefined();
    expect(new TextDecoder().decode(plain.payload)).toBe(unsigned);

    const body = `object ${A}\ntype commit\ntag v1\ntagger T <t@e> 1700000000 +0000\n\nRelease\n`;
    const key = await testKey('Tagger');
    const signature = await signPayload(body, key);
    const tag = parseTag(new TextEncoder().encode(body + signature));
    expect(new TextDecoder().decode(tag.payload)).toBe(body);
    expect(tag.message).toBe('Release\n');
    const keys = await readKeys({ armoredKeys: key.publicKey });
    expect(await verifyDetached(tag.payload, tag.signature as string, keys)).toBeDefined();
  });
});
