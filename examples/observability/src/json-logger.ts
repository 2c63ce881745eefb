import type { LogFields, Logger } from '@gitops-kit/core';

/**
 * A logger that writes one JSON line per record, as pino does, to `write` (default stdout). The
 * Reconciler's `logger` option takes pino, winston or console as well; this keeps the example free
 * of a logging dependency.
 */
export function jsonLogger(
  options: { readonly debug?: boolean; readonly write?: (line: string) => void } = {},
): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const at =
    (level: string) =>
    (fields: LogFields, message: string): void =>
      write(`${JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields })}\n`);
  return {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    ...(options.debug ? { debug: at('debug') } : {}),
  };
}
