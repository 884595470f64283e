/**
 * A fake text-generation-inference server, per wire-formats.md §2: `/generate`, `/generate_stream`
 * and the HF-compatible `/`. It validates parameters as TGI's router does (422, or a 200 stream
 * with one error event), sends `details` only when asked, writes `data:` without a space, opens a
 * stream with a `:` keep-alive comment, ends on the event carrying `generated_text`, no `[DONE]`.
 * With finish reason `stop` the last streamed token is the special EOS `</s>`, as TGI sends it.
 */
import { type Exchange, type FakeUpstream, type Json, isObject, parseJsonBody, startFakeUpstream, textOf } from './fake-upstream';

const EOS = { id: 2, text: '</s>', logprob: -0.12, special: true };
const MAX_STOP_SEQUENCES = 4;

/** TGI's `Validation::validate` checks, in its order; the message without the `Input validation error: ` prefix. */
function validate(inputs: string, p: Json): string | undefined {
  if (p.temperature != null && p.temperature <= 0) return '`temperature` must be strictly positive';
  if (p.repetition_penalty != null && p.repetition_penalty <= 0) return '`repetition_penalty` must be strictly positive';
  if (p.frequency_penalty != null && (p.frequency_penalty < -2 || p.frequency_penalty > 2)) {
    return '`frequency_penalty` must be >= -2.0 and <= 2.0';
  }
  if (p.top_p != null && (p.top_p <= 0 || p.top_p >= 1)) return '`top_p` must be > 0.0 and < 1.0';
  if (p.typical_p != null && (p.typical_p <= 0 || p.typical_p >= 1)) return '`typical_p` must be > 0.0 and < 1.0';
  if (p.top_k != null && p.top_k <= 0) return '`top_k` must be strictly positive';
  if (p.max_new_tokens === 0) return '`max_new_tokens` must be strictly positive';
  // TGI's default --max-top-n-tokens.
  if (p.top_n_tokens != null && (p.top_n_tokens < 0 || p.top_n_tokens > 5)) return `\`top_n_tokens\` must be >= 0 and <= 5. Given: ${p.top_n_tokens}`;
  const stops = Array.isArray(p.stop) ? p.stop.length : 0;
  if (stops > MAX_STOP_SEQUENCES) return `\`stop\` supports up to ${MAX_STOP_SEQUENCES} stop sequences. Given: ${stops}`;
  if (inputs === '') return '`inputs` cannot be empty';
  return undefined;
}

/** axum's `Json` extractor rejections, which TGI returns as plain text before its handler runs. */
function extract(x: Exchange): { inputs: string; parameters: Json; stream: boolean } | undefined {
  const ct = String(x.req.headers['content-type'] ?? '');
  if (!/^application\/(.+\+)?json/i.test(ct)) {
    x.send(415, 'Expected request with `Content-Type: application/json`');
    return undefined;
  }
  const parsed = parseJsonBody(x.rec.rawBody);
  if (!parsed.ok) {
    x.send(400, `Failed to parse the request body as JSON: ${parsed.error}`);
    return undefined;
  }
  const body: Json = parsed.value;
  const fail = (what: string): undefined => {
    x.send(422, `Failed to deserialize the JSON body into the target type: ${what} at line 1 column ${x.rec.rawBody.length}`);
    return undefined;
  };
  if (!isObject(body)) return fail('invalid type: expected struct GenerateRequest');
  if (!('inputs' in body)) return fail('missing field `inputs`');
  if (typeof body.inputs !== 'string') return fail('inputs: invalid type: expected a string');
  if (body.parameters != null && !isObject(body.parameters)) return fail('parameters: invalid type: expected struct GenerateParameters');
  return { inputs: body.inputs, parameters: body.parameters ?? {}, stream: body.stream === true };
}

function handle(x: Exchange): Promise<void> | void {
  const { req, rec, b } = x;
  const route = rec.path === '/generate' ? 'generate' : rec.path === '/generate_stream' ? 'stream' : rec.path === '/' ? 'compat' : undefined;
  if (!route) return x.send(404, '');
  if (req.method !== 'POST') return x.send(405, '');
  const r = extract(x);
  if (!r) return undefined;
  const p = r.parameters;
  const streaming = route === 'stream' || (route === 'compat' && r.stream);
  // `/` answers as the HF Inference API does: the prompt is echoed unless return_full_text is false.
  const fullText = p.return_full_text ?? route === 'compat';
  const invalid = validate(r.inputs, p);
  if (invalid) {
    const err = { error: `Input validation error: ${invalid}`, error_type: 'validation' };
    if (streaming) {
      return x.stream({ headers: sseHeaders, chunks: [], tail: `data:${JSON.stringify(err)}\n\n`, errorFrame: () => '', garbageFrame: '' });
    }
    return x.send(422, err);
  }

  const text = textOf(b);
  const eos = b.finishReason === 'stop';
  const tokens = x.tokens.map((t, i) => ({ id: 1000 + i, text: t, logprob: -0.25, special: false }));
  if (eos) tokens.push(EOS);
  const generatedTokens = b.completionTokens ?? tokens.length;
  const finishReason = eos ? 'eos_token' : 'length';
  const generatedText = fullText ? r.inputs + text : text;
  const topN = typeof p.top_n_tokens === 'number' ? p.top_n_tokens : 0;
  // `top_n_tokens` alternatives of a token (the token itself first), as TGI reports them.
  const topOf = (t: Json): Json[] =>
    Array.from({ length: topN }, (_, i) => (i === 0 ? t : { id: 29000 + i, text: `alt${i}`, logprob: -3 - i, special: false }));
  const topTokens = (t: Json): Json => (topN > 0 ? { top_tokens: topOf(t) } : {});

  if (streaming) {
    const event = (o: Json): string => `data:${JSON.stringify(o)}\n\n`;
    const last = tokens.length - 1;
    const details =
      p.details === true ? { finish_reason: finishReason, generated_tokens: generatedTokens, seed: p.seed ?? null, input_length: b.promptTokens } : null;
    return x.stream({
      headers: sseHeaders,
      preamble: ':\n\n',
      chunks: tokens.slice(0, last).map((token, i) => event({ index: i + 1, token, ...topTokens(token), generated_text: null, details: null })),
      tail: event({ index: last + 1, token: tokens[last], ...topTokens(tokens[last]), generated_text: generatedText, details }),
      errorFrame: (message) => event({ error: `Request failed during generation: ${message}`, error_type: 'generation' }),
      garbageFrame: 'data:{"index":1,"token":\n\n',
    });
  }

  const headers = {
    'x-compute-type': 'gpu+optimized',
    'x-prompt-tokens': String(b.promptTokens),
    'x-generated-tokens': String(generatedTokens),
  };
  const result: Json = { generated_text: generatedText };
  if (p.details === true) {
    result.details = {
      finish_reason: finishReason,
      generated_tokens: generatedTokens,
      seed: p.seed ?? null,
      prefill: [],
      tokens,
      ...(topN > 0 ? { top_tokens: tokens.map(topOf) } : {}),
    };
  }
  return x.answer(route === 'compat' ? [result] : result, headers);
}

const sseHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

/** Start a fake TGI on 127.0.0.1:0. */
export function startTgi(): Promise<FakeUpstream> {
  return startFakeUpstream({
    handle,
    internalError: (message) => ({ status: 500, body: { error: `Request failed during generation: ${message}`, error_type: 'generation' } }),
  });
}
