/** One challenge of a `WWW-Authenticate` header: its scheme and parameters. */
export interface AuthChallenge {
  /** Lower-case scheme: `basic`, `bearer`. */
  readonly scheme: string;
  /** Parameters with lower-case names: `realm`, `service`, `scope`, `error`. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `WWW-Authenticate` value (RFC 7235): one or more challenges, each a scheme followed by
 * `name=value` or `name="quoted, value"` parameters. Unknown shapes are skipped, never thrown on: a
 * registry's challenge is input from the network.
 */
export function parseChallenges(header: string | null | undefined): AuthChallenge[] {
  if (!header) return [];
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const n = header.length;
  const skipSpaces = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  while (i < n) {
    skipSpaces();
    while (i < n && header[i] === ',') {
      i++;
      skipSpaces();
    }
    const start = i;
    while (i < n && /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(header[i] as string)) i++;
    const token = header.slice(start, i);
    if (!token) {
      i++;
      continue;
    }
    skipSpaces();
    if (header[i] === '=') {
      // A parameter of the current challenge.
      i++;
      skipSpaces();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const from = i;
        while (i < n && header[i] !== ',' && header[i] !== ' ') i++;
        value = header.slice(from, i);
      }
      const current = challenges[challenges.length - 1];
      if (current) current.params[token.toLowerCase()] = value;
      skipSpaces();
      if (header[i] === ',') i++;
    } else {
      challenges.push({ scheme: token.toLowerCase(), params: {} });
    }
  }
  return challenges;
}
