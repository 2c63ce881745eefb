/**
 * JSON pointers (RFC 6901) for field paths: `/spec/replicas`, `/metadata/labels/app.kubernetes.io~1name`.
 * Label and annotation keys contain `/`, so segments are escaped rather than joined naively.
 */

/** Escapes one path segment: `~` becomes `~0` and `/` becomes `~1`. */
export function escapePointerSegment(segment: string | number): string {
  return String(segment).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Appends a segment to a pointer (`''` is the root). */
export function joinPointer(base: string, segment: string | number): string {
  return `${base}/${escapePointerSegment(segment)}`;
}

/** Splits a pointer into its unescaped segments (`''` gives none). */
export function splitPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}
