/**
 * A fake llama.cpp server (`/completion`, alias `/completions`; embeddings in llamacpp-embeddings.ts), per wire-formats.md §3: `prompt`
 * is required (400 otherwise), `n_predict` falls back to `max_tokens`, streams are `data: {...}`
 * with a final `stop:true` event whose content is empty, and no `[DONE]`.
 *
 * As the real `llama-server` (checked with the build in shared/llamacpp): `model` is the model's
 * file path, an end-of-sequence token comes as an empty event before the final one, errors close
 * the connection, and after every stream the connection is closed although `Keep-Alive` was
 * announced (`closeAfter`).
 */
import { type Exchange, type FakeUpstream, type Json, isObject, parseJsonBody, startFakeUpstream, textOf } from './fake-upstream';
import { handleLlamaCppEmbeddings } from './llamacpp-embeddings';

// The server reports the path it loaded the model from (unless started with --alias).
const MODEL = '/models/llama-2-7b-chat.Q4_K_M.gguf';

function llamaError(code: number, message: string, type: string): Json {
  return { error: { code, message, type } };
}

function timings(promptN: number, predictedN: number): Json {
  return {
    cache_n: 0,
    prompt_n: promptN,
    prompt_ms: 30.958,
    prompt_per_token_ms: 1.1056,
    prompt_per_second: 904.45,
    predicted_n: predictedN,
    predicted_ms: 226.5,
    predicted_per_token_ms: 18.875,
    predicted_per_second: 52.98,
  };
}

/** llama.cpp's `completion_probabilities` entry for a token, with `n` alternatives (`n_probs`). */
function probabilityOf(token: string, id: number, n: number): Json {
  const entry = (t: string, tid: number, logprob: number): Json => ({ id: tid, token: t, bytes: [...Buffer.from(t)], logprob });
  return {
    ...entry(token, id, -0.5),
    top_logprobs: Array.from({ length: n }, (_, i) => (i === 0 ? entry(token, id, -0.5) : entry(`alt${i}`, 29000 + i, -3 - i))),
  };
}

function handle(x: Exchange): Promise<void> | void {
  const { req, rec, b } = x;
  const close = { connection: 'close' };
  const embeddings = rec.path === '/embedding' || rec.path === '/embeddings' || rec.path === '/v1/embeddings';
  if (embeddings && req.method === 'POST') return handleLlamaCppEmbeddings(x, b.model ?? MODEL);
  if (rec.path !== '/completion' && rec.path !== '/completions') {
    return x.send(404, llamaError(404, 'File Not Found', 'not_found_error'), close);
  }
  if (req.method !== 'POST') return x.send(405, llamaError(405, 'Method Not Allowed', 'invalid_request_error'), close);
  const parsed = parseJsonBody(rec.rawBody);
  if (!parsed.ok) {
    return x.send(400, llamaError(400, `[json.exception.parse_error.101] parse error: ${parsed.error}`, 'invalid_request_error'), close);
  }
  const body: Json = parsed.value;
  if (!isObject(body) || !('prompt' in body)) {
    return x.send(400, llamaError(400, "[json.exception.out_of_range.403] key 'prompt' not found", 'invalid_request_error'), close);
  }
  if (typeof body.prompt !== 'string' && !Array.isArray(body.prompt)) {
    return x.send(
      400,
      llamaError(400, '"prompt" must be a string, a list of tokens, a list of mixed strings & tokens, or a list of prompts', 'invalid_request_error'),
      close,
    );
  }

  const model = b.model ?? MODEL;
  const predicted = b.completionTokens ?? x.tokens.length;
  const nPredict = body.n_predict ?? body.max_tokens ?? -1;
  const stopType = b.finishReason === 'stop' ? 'eos' : 'limit';
  const nProbs = typeof body.n_probs === 'number' && body.n_probs > 0 ? body.n_probs : 0;
  const probs = (tokens: string[], first: number): Json =>
    nProbs ? { completion_probabilities: tokens.map((t, i) => probabilityOf(t, 1000 + first + i, nProbs)) } : {};
  const final = (content: string, stream: boolean): Json => ({
    index: 0,
    content,
    tokens: [],
    id_slot: 0,
    stop: true,
    model,
    tokens_predicted: predicted,
    tokens_evaluated: b.promptTokens,
    generation_settings: {
      n_predict: nPredict,
      seed: body.seed ?? 4294967295,
      temperature: body.temperature ?? 0.8,
      top_k: body.top_k ?? 40,
      top_p: body.top_p ?? 0.95,
      stop: body.stop ?? [],
      stream,
    },
    prompt: `<s> ${String(body.prompt)}`,
    has_new_line: false,
    truncated: false,
    stop_type: stopType,
    stopping_word: '',
    tokens_cached: b.promptTokens + predicted,
    timings: timings(b.promptTokens, predicted),
  });

  if (body.stream === true) {
    const event = (o: Json): string => `data: ${JSON.stringify(o)}\n\n`;
    const chunks = x.tokens.map((t, i) =>
      event({
        index: 0,
        content: t,
        tokens: [1000 + i],
        stop: false,
        id_slot: -1,
        tokens_predicted: i + 1,
        tokens_evaluated: b.promptTokens,
        ...probs([t], i),
      }),
    );
    // The end-of-sequence token is generated too, as an event without text.
    if (stopType === 'eos')
      chunks.push(
        event({ index: 0, content: '', tokens: [2], stop: false, id_slot: -1, tokens_predicted: chunks.length + 1, tokens_evaluated: b.promptTokens }),
      );
    return x.stream({
      headers: { 'content-type': 'text/event-stream', 'x-accel-buffering': 'no', 'keep-alive': 'timeout=5, max=100' },
      closeAfter: true,
      chunks,
      // In stream mode the text was already sent: the final event's content is empty.
      tail: event(final('', true)),
      errorFrame: (message) => event(llamaError(500, message, 'server_error')),
      garbageFrame: 'data: {"index":0,"content":\n\n',
    });
  }
  return x.answer({ ...final(textOf(b), false), ...probs(x.tokens, 0) });
}

/** Start a fake llama.cpp server on 127.0.0.1:0. */
export function startLlamaCpp(): Promise<FakeUpstream> {
  return startFakeUpstream({
    handle,
    internalError: (message) => ({ status: 500, body: llamaError(500, message, 'server_error') }),
  });
}
