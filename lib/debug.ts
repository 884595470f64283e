import createDebug from 'debug';
import { redactLogArgs } from './redact/log-redaction';

/** The only logger: `DEBUG=express-ai-proxy:*`. Never pass headers, secrets or payloads to it. */
export const log = createDebug('express-ai-proxy');
// Every line goes through the redactor (loggers made by `extend` share this function), whatever a caller passed.
log.log = function (this: unknown, ...args: unknown[]): void {
  (createDebug.log as (...a: unknown[]) => void).apply(this, redactLogArgs(args));
};
export const logStats = log.extend('stats');

/** What a caught error (or anything thrown) says, for a log line; never throws (a hostile toString may). */
export function describeError(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return 'an unprintable value';
  }
}
