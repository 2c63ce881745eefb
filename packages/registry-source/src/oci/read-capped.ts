/**
 * A response body read whole, but never past a limit: refused at once when its announced length
 * is over, and as soon as the bytes pass it, so a hostile or broken server cannot make us buffer
 * without end. Used for manifests, tag lists and token answers.
 */

/** What {@link readCapped} reports and how it refuses. */
export interface ReadCappedOptions {
  /** The error for a body over the limit: `announced` when `Content-Length` said so before any read. */
  readonly tooLarge: (size: number, announced: boolean) => Error;
  /** Called with the size of each chunk read (transfer counters). */
  readonly onChunk?: ((bytes: number) => void) | undefined;
  /** Checked before each read. */
  readonly signal?: AbortSignal | undefined;
}

/** The whole body of `response`, at most `max` bytes (an empty buffer when it has none). */
export async function readCapped(
  response: Response,
  max: number,
  options: ReadCappedOptions,
): Promise<Buffer> {
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isSafeInteger(length) && length > max) {
    await response.body?.cancel().catch(() => undefined);
    throw options.tooLarge(length, true);
  }
  const chunks: Uint8Array[] = [];
  const body = response.body;
  if (!body) return Buffer.alloc(0);
  let size = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      options.onChunk?.(value.byteLength);
      if (size > max) throw options.tooLarge(size, false);
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks);
}
