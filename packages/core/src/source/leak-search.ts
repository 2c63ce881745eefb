/**
 * The forms a secret is looked for in: itself, and when the secret is long enough for a match to
 * mean something (8 characters of base64 or more), its base64 and base64url encodings at each of
 * the three byte alignments, so a secret inside a larger encoded value (`Basic base64(user:pass)`,
 * a Secret's `data`) is found too. The characters that mix the secret's bits with its neighbours'
 * are cut from both ends of each encoding.
 */
function formsOf(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const forms = new Set<string>([secret]);
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    const start = offset === 0 ? 0 : offset + 1;
    const end = (offset + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 1;
    const form = encoded.slice(start, end);
    if (form.length < 8) continue;
    forms.add(form);
    forms.add(form.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return [...forms];
}

/** How many values {@link findSecrets} visits at most, so a huge or endless graph still ends. */
const MAX_VISITED = 200_000;

/**
 * Searches a value deeply for any of `needles` and returns the paths where one was found (such as
 * `error.cause.$response.body.req._header holds AKIA…`), so a failing test says where the
 * credential hides; an empty result means none was found. Read: own properties, enumerable or not
 * (an error's `cause`, `stack` and hidden fields), symbol keys and descriptions, the `cause` chain,
 * arrays, Map keys and values, Set entries, Buffers, typed arrays and ArrayBuffers (as latin1
 * text); prototypes are left aside, getters that throw are skipped, cycles are visited once and at
 * most 200,000 values are visited. Each needle is also looked for in base64 and base64url (see
 * `formsOf`). Empty needles are ignored; a needle is named in the result by its first four
 * characters only. For authors of sources and targets checking that their errors, events, status
 * and stored state keep no credential (the built-in packages' credential-leak tests use it).
 */
export function findSecrets(value: unknown, needles: readonly string[]): string[] {
  const searched = needles
    .filter((needle) => needle.length > 0)
    .flatMap((needle) => formsOf(needle).map((form) => ({ needle, form })));
  const found: string[] = [];
  const seen = new Set<unknown>();
  let visited = 0;
  const check = (text: string, path: string): void => {
    const hits = new Set(searched.filter(({ form }) => text.includes(form)).map(({ needle }) => needle));
    for (const needle of hits) found.push(`${path} holds ${needle.slice(0, 4)}…`);
  };
  const visit = (current: unknown, path: string): void => {
    if (visited++ > MAX_VISITED) return;
    if (typeof current === 'string') {
      check(current, path);
      return;
    }
    if (typeof current === 'symbol') {
      check(current.toString(), path);
      return;
    }
    if (!current || (typeof current !== 'object' && typeof current !== 'function') || seen.has(current))
      return;
    seen.add(current);
    if (ArrayBuffer.isView(current)) {
      check(Buffer.from(current.buffer, current.byteOffset, current.byteLength).toString('latin1'), path);
      return;
    }
    if (current instanceof ArrayBuffer) {
      check(Buffer.from(current).toString('latin1'), path);
      return;
    }
    if (current instanceof Map) {
      for (const [k, v] of current) {
        visit(k, `${path}.<key>`);
        visit(v, `${path}.get(${String(k)})`);
      }
    } else if (current instanceof Set) {
      let index = 0;
      for (const entry of current) visit(entry, `${path}.<entry ${index++}>`);
    }
    for (const key of Reflect.ownKeys(current)) {
      let child: unknown;
      try {
        child = (current as Record<string | symbol, unknown>)[key];
      } catch {
        continue;
      }
      visit(child, `${path}.${String(key)}`);
    }
  };
  visit(value, 'error');
  return found;
}
