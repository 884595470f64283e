/**
 * A fake OpenAI-compatible server (`/v1/chat/completions`, `/v1/completions`), per wire-formats.md §4:
 * JSON answers, SSE `data: {...}` with the role first, a finish chunk, a usage chunk when
 * `stream_options.include_usage`, then `data: [DONE]`; errors `{"error":{message,type,param,code}}`.
 */
import { type Exchange, type FakeUpstream, type Json, isObject, parseJsonBody, startFakeUpstream, textOf, unixNow } from './fake-upstream';

export interface FakeOpenAiOptions {
  /** Model names served; others get 404 `model_not_found`. Defaults to accepting any name. Read per request. */
  models?: string[];
  /**
   * Behave as llama.cpp's `/v1` layer does (checked against the real `llama-server`): `model` is the
   * server's model file path whatever the request said, usage has `prompt_tokens_details`, the chat
   * stream opens with `delta: {role, content: null}`, errors carry the HTTP status as an integer
   * `code`, and the connection is closed after every stream although keep-alive was announced.
   */
  llamacpp?: boolean;
}

/** What llama.cpp's server reports as the model (the path it was loaded from). */
export const LLAMACPP_MODEL_PATH = '/models/llama-2-7b-chat.Q4_K_M.gguf';

function oaiError(message: string, type: string, param: string | null = null, code: string | null = null): Json {
  return { error: { message, type, param, code } };
}

/** llama.cpp's error body: the HTTP status as an integer code, no param. */
function llamaError(status: number, message: string, type: string): Json {
  return { error: { code: status, message, type } };
}

let seq = 0;

function handle(x: Exchange, opts: FakeOpenAiOptions): Promise<void> | void {
  const { req, rec, b } = x;
  const route = rec.path === '/v1/chat/completions' ? 'chat' : rec.path === '/v1/completions' ? 'completions' : undefined;
  if (!route) return x.send(404, oaiError(`Invalid URL (${req.method} ${rec.path})`, 'invalid_request_error'));
  if (req.method !== 'POST') return x.send(405, oaiError(`Invalid method (${req.method} ${rec.path})`, 'invalid_request_error'));
  const parsed = parseJsonBody(rec.rawBody);
  if (!parsed.ok || !isObject(parsed.value)) {
    return x.send(
      400,
      oaiError(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
        'invalid_request_error',
      ),
    );
  }
  const body: Json = parsed.value;
  if (typeof body.model !== 'string' || body.model === '') {
    return x.send(400, oaiError('you must provide a model parameter', 'invalid_request_error'));
  }
  const field = route === 'chat' ? 'messages' : 'prompt';
  if (body[field] === undefined) {
    return x.send(400, oaiError(`Missing required parameter: '${field}'.`, 'invalid_request_error', field, 'missing_required_parameter'));
  }
  if (opts.models && !opts.models.includes(body.model)) {
    return x.send(
      404,
      oaiError(`The model \`${body.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', null, 'model_not_found'),
    );
  }

  const llamacpp = opts.llamacpp === true;
  const model = b.model ?? (llamacpp ? LLAMACPP_MODEL_PATH : body.model);
  const completionTokens = b.completionTokens ?? x.tokens.length;
  const usage: Json = { prompt_tokens: b.promptTokens, completion_tokens: completionTokens, total_tokens: b.promptTokens + completionTokens };
  if (llamacpp) usage.prompt_tokens_details = { cached_tokens: 0 };
  const created = unixNow();
  seq += 1;
  const id = route === 'chat' ? `chatcmpl-fake${seq}` : `cmpl-fake${seq}`;
  const object = route === 'chat' ? 'chat.completion' : 'text_completion';
  const system_fingerprint = 'fp_fake';

  if (body.stream === true) {
    const includeUsage = body.stream_options?.include_usage === true;
    const event = (o: Json): string => `data: ${JSON.stringify(o)}\n\n`;
    const chunkObject = route === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const chunk = (choices: Json[], extra: Json = {}): string =>
      event({ id, object: chunkObject, created, model, system_fingerprint, choices, ...(includeUsage ? { usage: null } : {}), ...extra });
    const choice = (piece: string | undefined, finish: string | null, first = false): Json =>
      route === 'chat'
        ? {
            index: 0,
            delta: piece === undefined ? {} : first ? { role: 'assistant', content: llamacpp ? null : piece } : { content: piece },
            logprobs: null,
            finish_reason: finish,
          }
        : { text: piece ?? '', index: 0, logprobs: null, finish_reason: finish };
    const chunks = x.tokens.map((t) => chunk([choice(t, null)]));
    let tail = chunk([choice(undefined, b.finishReason)]);
    if (includeUsage) tail += chunk([], { usage });
    tail += 'data: [DONE]\n\n';
    return x.stream({
      headers: llamacpp
        ? { 'content-type': 'text/event-stream', 'x-accel-buffering': 'no', 'keep-alive': 'timeout=5, max=100' }
        : { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
      closeAfter: llamacpp,
      // The role chunk is a preamble so that fault counts (`afterChunks`) count content chunks only.
      preamble: route === 'chat' ? chunk([choice('', null, true)]) : undefined,
      chunks,
      tail,
      errorFrame: (message) => event(llamacpp ? llamaError(500, message, 'server_error') : oaiError(message, 'server_error')),
      garbageFrame: 'data: {"id":"chatcmpl-1","choices":[\n\n',
    });
  }

  const text = textOf(b);
  const choice =
    route === 'chat'
      ? { index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: b.finishReason }
      : { text, index: 0, logprobs: null, finish_reason: b.finishReason };
  return x.answer({ id, object, created, model, system_fingerprint, choices: [choice], usage });
}

/** Start a fake OpenAI-compatible server on 127.0.0.1:0. */
export function startOpenAi(opts: FakeOpenAiOptions = {}): Promise<FakeUpstream> {
  return startFakeUpstream({
    handle: (x) => handle(x, opts),
    internalError: (message) => ({ status: 500, body: opts.llamacpp ? llamaError(500, message, 'server_error') : oaiError(message, 'server_error') }),
  });
}
