/**
 * Remembers the promise `make` returns, so a tool is looked up or asked its version once per
 * renderer. A rejected promise is forgotten, so the next call tries again (a binary installed
 * later, an aborted version call).
 */
export function rememberUnlessRejected<A extends unknown[], T>(
  make: (...args: A) => Promise<T>,
): (...args: A) => Promise<T> {
  let remembered: Promise<T> | undefined;
  return (...args) => {
    if (!remembered) {
      const attempt = make(...args);
      remembered = attempt;
      attempt.catch(() => {
        if (remembered === attempt) remembered = undefined;
      });
    }
    return remembered;
  };
}
