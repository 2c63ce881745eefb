/**
 * Searches a value deeply (own properties, enumerable or not, symbol keys, the `cause` chain,
 * arrays, maps, buffers; prototypes left aside) for any of `needles`. Returns the paths where one
 * was found, so a failing test says where the credential hides. For authors of sources and targets
 * checking that their errors, events and states keep no credential (used by the built-in sources'
 * tests); a needle is named by its first four characters only.
 */
export function findSecrets(value: unknown, needles: readonly string[]): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (current: unknown, path: string): void => {
    if (typeof current === 'string') {
      for (const needle of needles)
        if (current.includes(needle)) found.push(`${path} holds ${needle.slice(0, 4)}…`);
      return;
    }
    if (current instanceof Uint8Array) {
      visit(Buffer.from(current).toString('latin1'), path);
      return;
    }
    if (!current || (typeof current !== 'object' && typeof current !== 'function') || seen.has(current))
      return;
    seen.add(current);
    if (current instanceof Map) {
      for (const [k, v] of current) {
        visit(k, `${path}.<key>`);
        visit(v, `${path}.get(${String(k)})`);
      }
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
