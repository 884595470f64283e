import { readUpstreamError } from '../upstream-error';
import { openAiErrorKind } from '../upstream-error-kinds';
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
 * The in-stream error an upstream reported (any shape `readUpstreamError` reads), as a stream
 * event; undefined when the message carries none. The same reader and the same type/code mapping
 * (`openAiErrorKind`) make the JSON error bodies, so an upstream error looks alike streamed or not.
 */
export function streamError(message: Record<string, unknown>): Extract<StreamEvent, { type: 'error' }> | undefined {
  const found = readUpstreamError(message);
  if (!found) return undefined;
  const { type, code } = openAiErrorKind(found);
  return { type: 'error', message: found.message, errorType: type, code };
}

/** The message of an error body an upstream answered with status 200, if it is one. */
export function errorMessageOf(body: unknown): string | undefined {
  return isRecord(body) ? streamError(body)?.message : undefined;
}
