import { ProxyError } from './errors';

const typeByStatus: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

const MAX_MESSAGE = 1000;

/**
 * A non-2xx upstream answer as an OpenAI error with the same status, carrying the upstream's own
 * message: from its JSON (`error`, `error.message`, `message`, `detail`), its text, or for an HTML
 * page only its title (a page dumped raw helps nobody).
 */
export function upstreamError(status: number, contentType: string | undefined, body: string, secrets: string[]): ProxyError {
  const type = typeByStatus[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  const { message, code } = extract(contentType ?? '', body.trim());
  const text = redact(message || `the upstream answered HTTP ${status} with an empty body`, secrets);
  return new ProxyError(status, text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text, type, code);
}

function extract(contentType: string, body: string): { message: string; code: string | null } {
  if (body.startsWith('{') || body.startsWith('[') || contentType.includes('json')) {
    try {
      return fromJson(JSON.parse(body));
    } catch {
      // Not JSON after all: fall through to text.
    }
  }
  if (contentType.includes('html') || /^<(!doctype|html)/i.test(body)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1]?.trim();
    return { message: title ? `the upstream answered with an HTML page: ${title}` : 'the upstream answered with an HTML error page', code: null };
  }
  return { message: body.replace(/\s+/g, ' '), code: null };
}

/** An error an upstream reported, in upstream-neutral terms. */
export interface UpstreamErrorFields {
  message: string;
  /** The error object's own `type` (llama.cpp, OpenAI), when it has one. */
  type?: string;
  /** The error object's `code`, or TGI's `error_type`. */
  code: string | null;
}

/**
 * Reads the `error` of an upstream body in every shape seen, as an HTTP error body or inside a
 * stream: `{"error":"…"}` (Ollama), `{"error":"…","error_type"}` (TGI),
 * `{"error":{"message","type","code"}}` (OpenAI; llama.cpp with an integer code).
 * Undefined when the body carries no `error`.
 */
export function readUpstreamError(o: Record<string, unknown>): UpstreamErrorFields | undefined {
  const err = o.error;
  if (err === undefined || err === null) return undefined;
  if (typeof err === 'string') return { message: err, code: typeof o.error_type === 'string' ? o.error_type : null };
  if (typeof err === 'object' && !Array.isArray(err)) {
    const e = err as Record<string, unknown>;
    const fields: UpstreamErrorFields = {
      message: typeof e.message === 'string' ? e.message : JSON.stringify(e),
      code: typeof e.code === 'string' ? e.code : typeof e.code === 'number' ? String(e.code) : null,
    };
    if (typeof e.type === 'string') fields.type = e.type;
    return fields;
  }
  return { message: JSON.stringify(err), code: null };
}

function fromJson(value: unknown): { message: string; code: string | null } {
  const v: unknown = Array.isArray(value) ? value[0] : value;
  // A JSON scalar (or nothing): its text as it is.
  if (typeof v !== 'object' || v === null) return { message: typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v), code: null };
  const o = v as Record<string, unknown>;
  const found = readUpstreamError(o);
  if (found) return { message: found.message, code: found.code };
  for (const key of ['message', 'detail']) {
    if (typeof o[key] === 'string') return { message: o[key], code: null };
  }
  return { message: JSON.stringify(v).slice(0, MAX_MESSAGE), code: null };
}

/** Upstreams sometimes echo the credentials they were sent; never pass those on. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}
