import { Redactor } from './redactor';

// Every secret of every route built in this process: log lines are not per route.
const known = new Set<string>();
let forLogs = new Redactor([]);

/** Adds a route's secrets to those hidden in every log line. */
export function hideInLogs(secrets: readonly string[]): void {
  let added = false;
  for (const s of secrets) {
    if (!known.has(s)) {
      known.add(s);
      added = true;
    }
  }
  if (added) forLogs = new Redactor([...known]);
}

/** The arguments of one `debug` call with every known secret hidden (non-strings are shown as strings). */
export function redactLogArgs(args: unknown[]): unknown[] {
  if (!forLogs.active) return args;
  return args.map((a) => (typeof a === 'string' ? forLogs.redact(a) : typeof a === 'object' && a !== null ? forLogs.redact(safeString(a)) : a));
}

function safeString(value: object): string {
  try {
    // JSON.stringify gives undefined for an object whose toJSON() does: nothing printable then either.
    return value instanceof Error ? value.message : (JSON.stringify(value) ?? '[unprintable]');
  } catch {
    return '[unprintable]';
  }
}
