import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The header carrying the request id, in and out (and upstream). */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Ids from outside are kept only when short and made of characters safe in headers, logs and labels. */
const SAFE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The client's `X-Request-Id` when it is safe to pass on (1 to 128 characters among letters,
 * digits and `. _ : @ / + = -`); else the one an app middleware already set on the response;
 * otherwise a new UUID. A repeated header arrives joined by commas and is replaced too.
 */
export function requestIdOf(headers: IncomingHttpHeaders, onResponse?: unknown): string {
  const given = headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && SAFE_ID.test(given)) return given;
  if (typeof onResponse === 'string' && SAFE_ID.test(onResponse)) return onResponse;
  return randomUUID();
}
