/**
 * Printing for people: the demo tells a story in steps, with the details indented under each.
 * Output goes through one `write` function, so the test can capture it instead of the console.
 */

/** Writes one line of output. */
export type LineWriter = (line: string) => void;

/** Prints numbered steps, sentences and indented details. */
export class Narrator {
  readonly #write: LineWriter;
  #step = 0;

  /** @param write where lines go (default `console.log`). */
  constructor(write: LineWriter = (line) => console.log(line)) {
    this.#write = write;
  }

  /** A title line. */
  title(text: string): void {
    this.#write(text);
    this.#write('='.repeat(text.length));
  }

  /** Starts the next numbered step. */
  step(text: string): void {
    this.#step++;
    this.#write('');
    this.#write(`Step ${this.#step}: ${text}`);
    this.#write('-'.repeat(`Step ${this.#step}: ${text}`.length));
  }

  /** A sentence. */
  say(text: string): void {
    this.#write(text);
  }

  /** Indented lines (a plan, a list of objects); multi-line text is split. */
  detail(text: string, indent = '    '): void {
    for (const line of text.split('\n')) this.#write(`${indent}${line}`);
  }
}

/** A revision short enough to read: `sha256:1a2b3c4d5e6f`. */
export function shortRevision(revision: string | undefined): string {
  if (revision === undefined) return '(none)';
  const match = /^(.*?)([0-9a-f]{40,})$/.exec(revision);
  return match ? `${match[1]}${match[2]?.slice(0, 12)}` : revision;
}
