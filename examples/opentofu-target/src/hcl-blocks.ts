/**
 * Splits an OpenTofu `.tf` file into its top-level blocks (`resource "t" "n" { ... }`), with the
 * line each starts on, without understanding what is inside: strings, `${...}` templates,
 * heredocs and comments are skipped so their braces do not count. Enough to route each resource
 * block to its own manifest; OpenTofu itself parses them later.
 */

/** One top-level block of a `.tf` file. */
export interface HclBlock {
  /** The block type: `resource`, `data`, `output`, `terraform`... */
  readonly type: string;
  /** The labels, unquoted: `["terraform_data", "web"]`. */
  readonly labels: readonly string[];
  /** The block's text from its first character to its closing brace. */
  readonly text: string;
  /** One-based line of the block's first line. */
  readonly line: number;
}

/** A problem in the file's structure, at a one-based line. */
export class HclScanError extends Error {
  /** Where the scanner gave up. */
  readonly line: number;

  constructor(message: string, line: number) {
    super(message);
    this.name = 'HclScanError';
    this.line = line;
  }
}

class Scanner {
  readonly #text: string;
  i = 0;

  constructor(text: string) {
    this.#text = text;
  }

  get done(): boolean {
    return this.i >= this.#text.length;
  }

  at(offset = 0): string {
    return this.#text[this.i + offset] ?? '';
  }

  lineAt(index: number): number {
    let line = 1;
    for (let k = 0; k < index && k < this.#text.length; k++) if (this.#text[k] === '\n') line++;
    return line;
  }

  slice(from: number, to: number): string {
    return this.#text.slice(from, to);
  }

  fail(message: string, index = this.i): never {
    throw new HclScanError(message, this.lineAt(index));
  }

  /** Skips a comment at the cursor; false when there is none. */
  comment(): boolean {
    const c = this.at();
    if (c === '#' || (c === '/' && this.at(1) === '/')) {
      while (!this.done && this.at() !== '\n') this.i++;
      return true;
    }
    if (c === '/' && this.at(1) === '*') {
      const end = this.#text.indexOf('*/', this.i + 2);
      if (end < 0) this.fail('unterminated /* comment');
      this.i = end + 2;
      return true;
    }
    return false;
  }

  /** Skips a quoted string (the cursor is on `"`), templates included. */
  string(): void {
    const start = this.i;
    this.i++;
    while (!this.done) {
      const c = this.at();
      if (c === '\\') this.i += 2;
      else if (c === '"') {
        this.i++;
        return;
      } else if ((c === '$' || c === '%') && this.at(1) === '{') {
        this.i += 2;
        this.until('}');
      } else if (c === '\n') this.fail('newline in a quoted string', start);
      else this.i++;
    }
    this.fail('unterminated string', start);
  }

  /** Skips a heredoc (the cursor is on `<<`). */
  heredoc(): boolean {
    const match = /^<<-?([A-Za-z_][A-Za-z0-9_]*)\r?\n/.exec(this.#text.slice(this.i, this.i + 200));
    if (!match?.[1]) return false;
    const marker = match[1];
    let cursor = this.i + match[0].length;
    while (cursor < this.#text.length) {
      const end = this.#text.indexOf('\n', cursor);
      const line = this.#text.slice(cursor, end < 0 ? undefined : end);
      if (line.trim() === marker) {
        this.i = end < 0 ? this.#text.length : end;
        return true;
      }
      if (end < 0) break;
      cursor = end + 1;
    }
    this.fail(`unterminated heredoc <<${marker}`);
  }

  /** Skips to just after the `close` that ends the current nesting level. */
  until(close: '}'): void {
    const start = this.i;
    let depth = 0;
    while (!this.done) {
      if (this.comment()) continue;
      const c = this.at();
      if (c === '"') this.string();
      else if (c === '<' && this.at(1) === '<' && this.heredoc()) continue;
      else if (c === '{' || c === '[' || c === '(') {
        depth++;
        this.i++;
      } else if (c === '}' || c === ']' || c === ')') {
        if (depth === 0) {
          if (c !== close) this.fail(`unexpected ${c}`);
          this.i++;
          return;
        }
        depth--;
        this.i++;
      } else this.i++;
    }
    this.fail(`no ${close} closes what starts here`, start);
  }
}

const HEADER = /^([A-Za-z_][A-Za-z0-9_-]*)((?:\s+(?:"[^"\n]*"|[A-Za-z_][A-Za-z0-9_-]*))*)\s*$/;

/** The top-level blocks of `text`, in file order. Throws {@link HclScanError} on broken structure. */
export function scanBlocks(text: string): HclBlock[] {
  const s = new Scanner(text);
  const blocks: HclBlock[] = [];
  while (!s.done) {
    if (s.comment() || /\s/.test(s.at())) {
      if (!s.done && /\s/.test(s.at())) s.i++;
      continue;
    }
    const start = s.i;
    while (!s.done && s.at() !== '{' && s.at() !== '\n' && s.at() !== '=') {
      if (s.at() === '"') s.string();
      else s.i++;
    }
    if (s.at() !== '{') s.fail('expected a block (`type "label" {`)', start);
    const header = HEADER.exec(s.slice(start, s.i).trim());
    if (!header?.[1]) throw new HclScanError('expected a block (`type "label" {`)', s.lineAt(start));
    s.i++;
    s.until('}');
    const labels = [...(header[2] ?? '').matchAll(/"([^"\n]*)"|([A-Za-z_][A-Za-z0-9_-]*)/g)].map(
      (m) => m[1] ?? m[2] ?? '',
    );
    blocks.push({ type: header[1] as string, labels, text: s.slice(start, s.i), line: s.lineAt(start) });
  }
  return blocks;
}
