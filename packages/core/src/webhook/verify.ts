import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time checks of webhook credentials. Both sides are hashed to the same length first, so
 * neither the content nor the length of the expected value leaks through timing.
 */

/** Whether two strings are equal, in time independent of where they differ. */
export function constantTimeEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** The `sha256=<hex>` HMAC of a body, as GitHub's `X-Hub-Signature-256` carries it. */
export function hmacSha256(secret: string, body: Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` (`sha256=<hex>`, the prefix optional) is the HMAC-SHA256 of `body` with `secret`. */
export function verifyHmacSha256(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (!header) return false;
  const given = header.trim().toLowerCase();
  const normalised = given.startsWith('sha256=') ? given : `sha256=${given}`;
  return constantTimeEqual(normalised, hmacSha256(secret, body));
}
