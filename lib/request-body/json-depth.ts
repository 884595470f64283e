/**
 * Deepest nesting of arrays and objects accepted in a request body. Chat bodies nest 4 levels
 * (`messages[i].content[j].text`), tool JSON schemas a dozen or so; 64 leaves room for both while
 * keeping every later walk of the body (the format, JSON.stringify of the upstream body and of the
 * statistics' `request_payload`) far from the call stack's limit.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `value` nests arrays/objects deeper than `max` levels (a scalar is depth 0, `[]` depth 1).
 * The recursion is itself bounded by `max`, so a 100,000-deep body cannot exhaust the stack here.
 */
export function exceedsJsonDepth(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  return deeper(value, max);
}

function deeper(value: unknown, remaining: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (remaining === 0) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (typeof v === 'object' && v !== null && deeper(v, remaining - 1)) return true;
    return false;
  }
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'object' && v !== null && deeper(v, remaining - 1)) return true;
  }
  return false;
}
