import { ProxyError } from './errors';
import { openAiErrorKind, statusFromCode } from './upstream-error-kinds';
import { redactorOf } from './redact';

const MAX_MESSAGE = 1000;
/** Only this much of an HTML page is searched for its title, and of a text body kept before its whitespace is collapsed. */
const MAX_SCANNED = 64 * 1024;

/**
 * A non-2xx upstream answer as an OpenAI error with the same status, carrying the upstream's own
 * message: from its JSON (`error`, `error.message`, `message`, `detail`), its text, or for an HTML
 * page only its title (a page dumped raw helps nobody).
 */
export function upstreamError(status: number, contentType: string | undefined, body: string, secrets: string[]): ProxyError {
  const found = extract(contentType ?? '', body.trim());
  const text = redact(found.message || `the upstream answered HTTP ${status} with an empty body`, secrets);
  const { type, code } = openAiErrorKind({ ...found, status, message: text });
  return new ProxyError(status, text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text, type, code);
}

function extract(contentType: string, body: string): { message: string; type?: string; code: string | null } {
  if (body.startsWith('{') || body.startsWith('[') || contentType.includes('json')) {
    try {
      return fromJson(JSON.parse(body));
    } catch {
      // Not JSON after all: fall through to text.
    }
  }
  if (contentType.includes('html') || /^<(!doctype|html)/i.test(body)) {
    const title = htmlTitle(body.slice(0, MAX_SCANNED));
    return { message: title ? `the upstream answered with an HTML page: ${title}` : 'the upstream answered with an HTML error page', code: null };
  }
  // A cut is marked with `…`, which the redactor also reads (a secret's start before it is hidden too).
  const text = body.length > MAX_SCANNED ? `${body.slice(0, MAX_SCANNED)}…` : body;
  return { message: text.replace(/\s+/g, ' '), code: null };
}

/**
 * The text of the first `<title …>…</title>`, found with `indexOf` in one pass: a regex such as
 * `/<title[^>]*>([^<]*)<\/title>/` backtracks quadratically on a page of repeated `<title`.
 */
export function htmlTitle(html: string): string | undefined {
  const lower = html.toLowerCase();
  // The next `>` and `<` after a position only move forward, so each is searched for once in all.
  let gt = -1;
  let lt = -1;
  let at = lower.indexOf('<title');
  while (at !== -1) {
    const nameEnd = at + 6;
    if (gt < nameEnd) gt = lower.indexOf('>', nameEnd);
    if (gt === -1) return undefined;
    if (lt !== -1 && lt < nameEnd) lt = lower.indexOf('<', nameEnd);
    if (lt === -1 && at >= 0) lt = lower.indexOf('<', nameEnd);
    const c = lower.charCodeAt(nameEnd);
    const nameEnds = c === 62 /* > */ || c === 32 || c === 9 || c === 10 || c === 13 || c === 47; /* / */
    if (nameEnds && (lt === -1 || lt > gt)) {
      const close = lower.indexOf('<', gt + 1);
      if (close === -1 || !lower.startsWith('</title>', close)) return undefined;
      return html.slice(gt + 1, close).trim();
    }
    // `<titlex>` is another tag; a `<` before the `>` means the tag never closed: look further on.
    at = lower.indexOf('<title', lt !== -1 && lt < gt ? lt : nameEnd);
  }
  return undefined;
}

/** An error an upstream reported, in upstream-neutral terms. */
export interface UpstreamErrorFields {
  message: string;
  /** The error object's own `type` (llama.cpp, OpenAI), when it has one. */
  type?: string;
  /** The error object's string `code`, or TGI's `error_type`; never a number (see `status`). */
  code: string | null;
  /** The HTTP status an upstream wrote as the error's `code` (llama.cpp, vLLM), if it did. */
  status?: number;
}

/**
 * Reads the `error` of an upstream body in every shape seen, as an HTTP error body or inside a
 * stream: `{"error":"…"}` (Ollama), `{"error":"…","error_type"}` (TGI),
 * `{"error":{"message","type","code"}}` (OpenAI; llama.cpp and vLLM with the HTTP status as an integer code).
 * Undefined when the body carries no `error`.
 */
export function readUpstreamError(o: Record<string, unknown>): UpstreamErrorFields | undefined {
  const err = o.error;
  if (err === undefined || err === null) return undefined;
  if (typeof err === 'string') return { message: err, code: typeof o.error_type === 'string' ? o.error_type : null };
  if (typeof err === 'object' && !Array.isArray(err)) {
    const e = err as Record<string, unknown>;
    const status = statusFromCode(e.code);
    const fields: UpstreamErrorFields = {
      message: typeof e.message === 'string' ? e.message : JSON.stringify(e),
      code: typeof e.code === 'string' && status === undefined ? e.code : null,
    };
    if (typeof e.type === 'string') fields.type = e.type;
    if (status !== undefined) fields.status = status;
    return fields;
  }
  return { message: JSON.stringify(err), code: null };
}

function fromJson(value: unknown): { message: string; type?: string; code: string | null } {
  const v: unknown = Array.isArray(value) ? value[0] : value;
  // A JSON scalar (or nothing): its text as it is.
  if (typeof v !== 'object' || v === null) return { message: typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v), code: null };
  const o = v as Record<string, unknown>;
  const found = readUpstreamError(o);
  if (found) return found.type === undefined ? { message: found.message, code: found.code } : { message: found.message, type: found.type, code: found.code };
  for (const key of ['message', 'detail']) {
    if (typeof o[key] === 'string') return { message: o[key], code: null };
  }
  return { message: JSON.stringify(v).slice(0, MAX_MESSAGE), code: null };
}

/** Upstreams sometimes echo the credentials they were sent; never pass those on (see `Redactor`). */
export function redact(text: string, secrets: readonly string[]): string {
  return redactorOf(secrets).redact(text);
}
