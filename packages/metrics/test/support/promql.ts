/**
 * A small PromQL parser for the dashboard test: enough of the grammar for dashboard queries
 * (selectors with matchers and ranges, functions, aggregations with `by`/`without`, binary
 * operators, numbers and strings). It returns the selectors and grouping labels it found, so the
 * test can check them against the series the package exports. The real check is Prometheus
 * itself, in the integration test.
 */

/** A vector selector found in a query. */
export interface Selector {
  readonly metric: string;
  readonly labels: readonly string[];
}

/** What a query uses. */
export interface QueryUse {
  readonly selectors: Selector[];
  /** Labels of `by (...)` / `without (...)` clauses, with the selectors under each. */
  readonly groupings: { labels: string[]; selectors: Selector[] }[];
  readonly functions: string[];
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
]);
const FUNCTIONS = new Set([
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'histogram_quantile',
  'abs',
  'ceil',
  'floor',
  'round',
  'clamp_min',
  'clamp_max',
  'label_replace',
  'label_join',
  'time',
  'vector',
  'scalar',
  'sort',
  'sort_desc',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'changes',
  'resets',
  'absent',
  'timestamp',
]);
const BINARY = new Set([
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '==',
  '!=',
  '>',
  '<',
  '>=',
  '<=',
  'and',
  'or',
  'unless',
]);

type Token = { kind: 'ident' | 'number' | 'string' | 'duration' | 'punct' | 'op'; text: string };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  const re =
    /\s+|(?<duration>\[\d+[smhdwy](?:\d+[smhdwy])*(?::\d*[smhdwy]?)?\])|(?<number>\d+(?:\.\d+)?(?:e[+-]?\d+)?)|(?<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?<op>==|!=|>=|<=|=~|!~|[-+*/%^><=])|(?<punct>[(){},])/y;
  let index = 0;
  while (index < query.length) {
    re.lastIndex = index;
    const match = re.exec(query);
    if (!match) throw new Error(`unexpected ${JSON.stringify(query.slice(index, index + 10))} at ${index}`);
    index = re.lastIndex;
    const groups = match.groups ?? {};
    for (const kind of ['duration', 'number', 'string', 'ident', 'op', 'punct'] as const) {
      const text = groups[kind];
      if (text !== undefined) {
        tokens.push({ kind, text });
        break;
      }
    }
  }
  return tokens;
}

/** Parses a query; throws with the place when it is not valid in the supported grammar. */
export function parsePromQL(query: string): QueryUse {
  const tokens = tokenize(query);
  let at = 0;
  const use: QueryUse = { selectors: [], groupings: [], functions: [] };
  const peek = (): Token | undefined => tokens[at];
  const next = (): Token => {
    const token = tokens[at++];
    if (!token) throw new Error('unexpected end of query');
    return token;
  };
  const expect = (text: string): void => {
    const token = next();
    if (token.text !== text) throw new Error(`expected ${text}, got ${token.text}`);
  };
  const labelList = (): string[] => {
    expect('(');
    const labels: string[] = [];
    while (peek()?.text !== ')') {
      const token = next();
      if (token.kind !== 'ident') throw new Error(`expected a label name, got ${token.text}`);
      labels.push(token.text);
      if (peek()?.text === ',') next();
    }
    expect(')');
    return labels;
  };
  const selector = (metric: string): void => {
    const labels: string[] = [];
    if (peek()?.text === '{') {
      next();
      while (peek()?.text !== '}') {
        const label = next();
        if (label.kind !== 'ident') throw new Error(`expected a label name, got ${label.text}`);
        const op = next();
        if (!['=', '!=', '=~', '!~'].includes(op.text)) throw new Error(`expected a matcher, got ${op.text}`);
        const value = next();
        if (value.kind !== 'string') throw new Error(`expected a string, got ${value.text}`);
        if (op.text.includes('~')) new RegExp(`^(?:${value.text.slice(1, -1)})$`);
        labels.push(label.text);
        if (peek()?.text === ',') next();
      }
      expect('}');
    }
    if (peek()?.kind === 'duration') next();
    use.selectors.push({ metric, labels });
  };
  const primary = (): void => {
    const token = next();
    if (token.text === '(') {
      expression();
      expect(')');
      if (peek()?.kind === 'duration') next();
      return;
    }
    if (token.text === '-' || token.text === '+') {
      primary();
      return;
    }
    if (token.kind === 'number' || token.kind === 'string') return;
    if (token.kind !== 'ident') throw new Error(`unexpected ${token.text}`);
    if (AGGREGATIONS.has(token.text)) {
      const before = use.selectors.length;
      let labels: string[] | undefined;
      if (peek()?.text === 'by' || peek()?.text === 'without') {
        next();
        labels = labelList();
      }
      expect('(');
      expression();
      while (peek()?.text === ',') {
        next();
        expression();
      }
      expect(')');
      if (!labels && (peek()?.text === 'by' || peek()?.text === 'without')) {
        next();
        labels = labelList();
      }
      if (labels) use.groupings.push({ labels, selectors: use.selectors.slice(before) });
      use.functions.push(token.text);
      return;
    }
    if (peek()?.text === '(') {
      if (!FUNCTIONS.has(token.text)) throw new Error(`unknown function ${token.text}`);
      use.functions.push(token.text);
      next();
      if (peek()?.text !== ')') {
        expression();
        while (peek()?.text === ',') {
          next();
          expression();
        }
      }
      expect(')');
      return;
    }
    selector(token.text);
  };
  const expression = (): void => {
    primary();
    while (peek() && BINARY.has(peek()?.text ?? '')) {
      next();
      if (peek()?.text === 'bool') next();
      if (peek()?.text === 'on' || peek()?.text === 'ignoring') {
        next();
        labelList();
      }
      primary();
    }
  };
  expression();
  if (at !== tokens.length) throw new Error(`unexpected ${tokens[at]?.text} after the expression`);
  return use;
}
