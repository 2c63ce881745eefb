/**
 * Apiserver messages made readable. An `Invalid` answer about an immutable field quotes the whole
 * old value as a Go struct literal (`Invalid value: core.PodTemplateSpec{ObjectMeta:…}` — thousands
 * of characters, sometimes Secret data); people need the field path and the reason. Struct, map and
 * slice literals are cut to their type (`core.PodTemplateSpec{…}`) and what is left is bounded.
 */

/** The longest apiserver message kept, after the literals are cut. */
export const MAX_API_MESSAGE = 1000;

/**
 * A Go composite literal's type and its opening brace, wherever it stands: a package-qualified type
 * (`core.PodSpec{`, `*v1.ObjectMeta{`), a slice of anything (`[]core.Container{`, `[]uint8{`) or a
 * map (`map[string][]uint8{`). Plain words before a brace are not types and are left alone.
 */
const LITERAL =
  /()((?:\[\])+\*?[A-Za-z_][\w.]*|map\[[^\]\s]*\](?:\[\])*\*?[A-Za-z_][\w.]*|\*?[A-Za-z_]\w*\.[A-Z]\w*)\{/g;

/** The index just past the brace that closes the one at `open`, skipping quoted strings; -1 when unbalanced. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{') {
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * `message` with every quoted Go composite literal cut to its type, only its first line kept (a
 * refused Pod update appends a whole struct diff on the lines after), and at most `max` characters.
 */
export function shortenApiMessage(text: string, max = MAX_API_MESSAGE): string {
  const newline = text.indexOf('\n');
  const message = newline < 0 ? text : `${text.slice(0, newline).trimEnd()} (details cut)`;
  let out = '';
  let from = 0;
  LITERAL.lastIndex = 0;
  for (let match = LITERAL.exec(message); match; match = LITERAL.exec(message)) {
    const open = match.index + match[0].length - 1;
    const end = closingBrace(message, open);
    const stop = end < 0 ? message.length : end;
    out += `${message.slice(from, match.index)}${match[1]}${match[2]}{…}`;
    from = stop;
    LITERAL.lastIndex = stop;
  }
  out += message.slice(from);
  return out.length <= max ? out : `${out.slice(0, max - 1)}…`;
}
