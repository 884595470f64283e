import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The header carrying the request id, in and out (and upstream). */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Ids from outside are kept only when short and made of characters safe in headers, logs and labels. */
const SAFE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The client's `X-Request-Id` when it is safe to pass on (1 to 128 characters among letters,
 * digits and `. _ : @ / + = -`); else the one an app middleware already set on the response;
 * otherwise a new id (see `newRequestId`). A repeated header arrives joined by commas and is replaced too.
 */
export function requestIdOf(headers: IncomingHttpHeaders, onResponse?: unknown): string {
  const given = headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && SAFE_ID.test(given)) return given;
  if (typeof onResponse === 'string' && SAFE_ID.test(onResponse)) return onResponse;
  return newRequestId();
}

/** 2^48: the last group of a UUID holds 12 hex digits. */
const COUNTER_SPAN = 2 ** 48;
let base = '';
let counter = COUNTER_SPAN;

/**
 * A UUID (version 4 form): its first 20 hex digits drawn at random once per process, its last 12 a
 * counter starting at a random value. Unique within the process, and across processes as a random
 * UUID is, but without drawing randomness and building a string of 36 characters per request
 * (`randomUUID` allocated about 600 bytes a request, a tenth of what the proxy adds to Node's own).
 * Request ids are labels, not secrets: consecutive ones are meant to be told apart, not to be unguessable.
 */
export function newRequestId(): string {
  if (counter >= COUNTER_SPAN) {
    const fresh = randomUUID();
    base = fresh.slice(0, 24);
    counter = parseInt(fresh.slice(24, 36), 16) % (COUNTER_SPAN / 2);
  }
  return base + (counter++).toString(16).padStart(12, '0');
}
