/**
 * When the apiserver asks to be asked again. It answers 429 when priority and fairness or the
 * max-in-flight limit sheds load, and while a watch cache is still filling after a start
 * ("storage is (re)initializing"); both carry `Retry-After`, and the request was not carried
 * out. client-go retries those answers (and 500–504 with `Retry-After`) up to ten times after the
 * given number of seconds; we do the same, so a busy or restarting apiserver delays a pass
 * instead of failing it.
 */

/** The default number of retries of one request the server asked to be retried (client-go's). */
export const DEFAULT_MAX_RETRIES = 10;

/** The longest wait one `Retry-After` may ask for: a longer one is cut to this. */
export const MAX_RETRY_AFTER_MS = 10_000;

/**
 * How long to wait before sending the request again, or `undefined` when the answer is final:
 * a 429 or 500–504 answer with `Retry-After` in seconds (the header, or a `Status` body's
 * `details.retryAfterSeconds` when a proxy dropped the header).
 */
export function retryAfterMs(
  statusCode: number,
  retryAfter: string | undefined,
  text: string,
): number | undefined {
  if (statusCode !== 429 && (statusCode < 500 || statusCode > 504)) return undefined;
  const seconds = headerSeconds(retryAfter) ?? statusSeconds(text);
  if (seconds === undefined) return undefined;
  return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
}

/** `Retry-After` as whole seconds; an HTTP date (which the apiserver never sends) is not honoured. */
function headerSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value.trim());
}

function statusSeconds(text: string): number | undefined {
  if (!text.includes('retryAfterSeconds')) return undefined;
  try {
    const parsed = JSON.parse(text) as { kind?: unknown; details?: { retryAfterSeconds?: unknown } };
    const seconds = parsed?.kind === 'Status' ? parsed.details?.retryAfterSeconds : undefined;
    return typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 0 ? seconds : undefined;
  } catch {
    return undefined;
  }
}
