import type { StreamEvent } from './format';

/** A plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Copies only the entries whose value is not undefined ("not given"). */
export function definedOnly(entries: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

/** A short excerpt of an unexpected upstream value, for error messages. */
export function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * The in-stream error an upstream reported, in any of the shapes seen: `{"error":"…"}` (Ollama, TGI
 * with `error_type`) or `{"error":{message,type,code}}` (llama.cpp, OpenAI). Undefined when none.
 */
export function streamError(message: Record<string, unknown>): Extract<StreamEvent, { type: 'error' }> | undefined {
  const err = message.error;
  if (err === undefined || err === null) return undefined;
  if (typeof err === 'string') {
    return typeof message.error_type === 'string'
      ? { type: 'error', message: err, errorType: message.error_type }
      : { type: 'error', message: err };
  }
  if (isRecord(err)) {
    const event: Extract<StreamEvent, { type: 'error' }> = {
      type: 'error',
      message: typeof err.message === 'string' ? err.message : describe(err),
    };
    if (typeof err.type === 'string') event.errorType = err.type;
    if (typeof err.code === 'string' || typeof err.code === 'number') event.code = String(err.code);
    else if (err.code === null) event.code = null;
    return event;
  }
  return { type: 'error', message: describe(err) };
}

/** The message of an error body an upstream answered with status 200, if it is one. */
export function errorMessageOf(body: unknown): string | undefined {
  return isRecord(body) ? streamError(body)?.message : undefined;
}
