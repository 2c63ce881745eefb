/**
 * Searches any value deeply for secrets: own properties enumerable or not (so an error's `cause`,
 * `stack` and hidden fields are read), symbols, Map and Set entries, Buffers and typed arrays, with
 * each secret also looked for in base64. Used by the credential-leak tests on errors, event
 * payloads, status values and stored state.
 */

/** Where a secret was found: a path such as `error.cause.$response.body.req._header`. */
export interface Leak {
  readonly path: string;
  readonly secret: string;
}

function forms(secret: string): string[] {
  const b64 = Buffer.from(secret).toString('base64').replace(/=+$/, '');
  return b64.length >= 8 ? [secret, b64] : [secret];
}

/** Every place in `value` (up to `maxNodes` visited) where one of `secrets` occurs. */
export function findLeaks(
  value: unknown,
  secrets: readonly string[],
  root = 'value',
  maxNodes = 200_000,
): Leak[] {
  const needles = secrets.filter((s) => s.length > 0).flatMap((s) => forms(s).map((form) => ({ s, form })));
  const leaks: Leak[] = [];
  const seen = new WeakSet<object>();
  let visited = 0;
  const check = (text: string, path: string): void => {
    for (const { s, form } of needles) if (text.includes(form)) leaks.push({ path, secret: s });
  };
  const walk = (v: unknown, path: string): void => {
    if (visited++ > maxNodes) return;
    if (typeof v === 'string') {
      check(v, path);
      return;
    }
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return;
    if (typeof v === 'symbol') {
      check(v.toString(), path);
      return;
    }
    if (typeof v === 'function') return;
    if (v === null || v === undefined || typeof v !== 'object') return;
    if (seen.has(v)) return;
    seen.add(v);
    if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) {
      const bytes = Buffer.from(v.buffer, v.byteOffset, Math.min(v.byteLength, 1 << 20));
      check(bytes.toString('latin1'), path);
      return;
    }
    if (v instanceof ArrayBuffer) {
      check(Buffer.from(v).toString('latin1'), path);
      return;
    }
    if (v instanceof Map) {
      for (const [k, item] of v) {
        walk(k, `${path}<key>`);
        walk(item, `${path}[${String(k)}]`);
      }
    } else if (v instanceof Set) {
      let i = 0;
      for (const item of v) walk(item, `${path}{${i++}}`);
    }
    for (const key of Reflect.ownKeys(v)) {
      const descriptor = Object.getOwnPropertyDescriptor(v, key);
      if (!descriptor || !('value' in descriptor)) continue; // getters may have effects: skip
      walk(descriptor.value, `${path}.${String(key)}`);
    }
    // Fields on the prototype chain of class instances (an Error's message is own; a class's
    // private fields are unreachable to anyone, which is the point).
  };
  walk(value, root);
  return leaks;
}
