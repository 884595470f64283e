/**
 * One mapping from an upstream's error to OpenAI's error `type` and `code`, used for JSON error
 * answers and stream error events alike, so the same upstream error reads the same on every path.
 *
 * - `type` follows the HTTP status: the answer's status, or inside a stream the status an upstream
 *   writes into its error object (llama.cpp's and vLLM's integer `code`) or that its error kind
 *   implies (TGI's `validation` is a 422). Without one, the upstream's own `type` if it is one of
 *   OpenAI's, else `api_error`.
 * - `code`: the known kinds of error get OpenAI's code whatever the server calls them
 *   (`context_length_exceeded`, `model_not_found`, and `server_overloaded` for a busy server, which
 *   OpenAI itself answers with code null); any other string code is kept; a number is never a code.
 */

/** What an upstream said about its error, in upstream-neutral terms. */
export interface UpstreamErrorFacts {
  /** The HTTP status of the answer, or the one written in the error object; undefined if none. */
  status?: number;
  message: string;
  /** The error object's own `type` (llama.cpp, OpenAI, vLLM), if any. */
  type?: string;
  /** The error object's string `code`, or TGI's `error_type` (never a number). */
  code: string | null;
}

/** OpenAI's `type` and `code` for an upstream error. */
export interface OpenAiErrorKind {
  type: string;
  code: string | null;
}

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

const OPENAI_TYPES = new Set([
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'rate_limit_error',
  'api_error',
  'server_error',
]);

/**
 * The status an error kind implies when no status came with it (inside a stream): TGI's
 * `error_type`s and llama.cpp's `type`s, as those servers answer them over HTTP.
 */
const statusByKind: Record<string, number> = {
  validation: 422,
  overloaded: 429,
  generation: 500,
  incomplete_generation: 500,
  exceed_context_size_error: 400,
  unavailable_error: 503,
  not_supported_error: 501,
};

/** Only this much of an upstream message is looked at: its text is not ours to scan without bound. */
const SCAN = 600;

/** The OpenAI type for an HTTP status. */
export function typeForStatus(status: number): string {
  return typeByStatus[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** llama.cpp, vLLM and others put the HTTP status in the error object's `code`. */
export function statusFromCode(code: unknown): number | undefined {
  const n = typeof code === 'number' ? code : typeof code === 'string' && /^\d{3}$/.test(code) ? Number(code) : NaN;
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
}

/** Which known kind an error is, from its type, code and (bounded, case-folded) message. */
function knownCode(e: UpstreamErrorFacts): string | undefined {
  const tags = [e.type, e.code].map((t) => (t ?? '').toLowerCase());
  const text = e.message.slice(0, SCAN).toLowerCase();
  const has = (...needles: string[]) => needles.some((n) => text.includes(n));
  if (tags.some((t) => t === 'exceed_context_size_error' || t === 'context_length_exceeded')) return 'context_length_exceeded';
  // llama.cpp ("exceeds the available context size", "Context size has been exceeded"), vLLM and
  // OpenAI ("maximum context length"), TGI ("`inputs` tokens + `max_new_tokens` must be <= …").
  if (
    has('available context size', 'context size has been exceeded', 'maximum context length', 'context length exceeded', 'tokens + `max_new_tokens` must be')
  ) {
    return 'context_length_exceeded';
  }
  if (tags.some((t) => t === 'model_not_found')) return 'model_not_found';
  // Ollama: `model "x" not found, try pulling it first`; vLLM: "The model `x` does not exist."
  if (text.includes('model') && has('not found', 'does not exist')) return 'model_not_found';
  if (tags.some((t) => t === 'overloaded' || t === 'overloaded_error' || t === 'server_overloaded')) return 'server_overloaded';
  // Ollama: "server busy, please try again. maximum pending requests exceeded"; TGI: "Model is overloaded".
  if (has('server busy', 'is overloaded', 'currently overloaded', 'too many pending requests')) return 'server_overloaded';
  return undefined;
}

/** The one mapping (see the module comment). */
export function openAiErrorKind(e: UpstreamErrorFacts): OpenAiErrorKind {
  const known = knownCode(e);
  const status = e.status ?? statusByKind[e.code ?? ''] ?? statusByKind[e.type ?? ''];
  let type: string;
  if (known === 'context_length_exceeded' || known === 'model_not_found') type = 'invalid_request_error';
  else if (status !== undefined) type = typeForStatus(status);
  else if (e.type !== undefined && OPENAI_TYPES.has(e.type)) type = e.type === 'server_error' ? 'api_error' : e.type;
  else type = 'api_error';
  const code = known ?? (e.code !== null && statusFromCode(e.code) === undefined && e.code !== '' ? e.code : null);
  return { type, code };
}
