/**
 * A fake Ollama (`/api/chat`, `/api/generate`), per wire-formats.md §1: `stream` absent means
 * NDJSON streaming, zero counts are omitted, durations are nanoseconds, errors are `{"error": "..."}`.
 * Like a real tool-capable, reasoning model it also: calls the behaviour's `toolCalls` when the
 * request offers `tools` (arguments as objects; streamed on a line before the `done` line), thinks
 * (`message.thinking`) when asked with `think`, answers JSON for `format` (`"json"` or a schema, with
 * a value of that schema), and reports `logprobs` when asked. Like Go's decoder, it refuses tool
 * call arguments that are not objects and a `format` that is neither "json" nor a schema.
 */
import { type Exchange, type FakeUpstream, type FakeToolCall, type Json, isObject, parseJsonBody, startFakeUpstream, textOf } from './fake-upstream';

export interface FakeOllamaOptions {
  /** Model names this Ollama has pulled; others get 404. Defaults to accepting any name. Read per request. */
  models?: string[];
}

/** RFC 3339 with nanoseconds, as Go's time.Time marshals it. */
function ollamaTime(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1456789Z');
}

/** Ollama marks each metric `omitempty`: a zero is absent. */
function metrics(x: Exchange, completionTokens: number): Record<string, number> {
  const m: Record<string, number> = {
    total_duration: 4883583458,
    load_duration: 1334875,
    prompt_eval_count: x.b.promptTokens,
    prompt_eval_duration: 342546000,
    eval_count: completionTokens,
    eval_duration: 4535599000,
  };
  for (const k of Object.keys(m)) if (m[k] === 0) delete m[k];
  return m;
}

function modelKnown(models: string[] | undefined, name: string): boolean {
  if (!models) return true;
  const bare = name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name;
  return models.some((m) => m === name || m === bare || m === `${name}:latest`);
}

/**
 * A deterministic unit vector of `size` for a text, as an embedding model gives: the same text
 * always maps to the same vector. Tests compute the expected vector with it.
 */
export function fakeEmbedding(text: string, size = 8): number[] {
  const v = Array.from({ length: size }, (_, i) => Math.sin((text.length + 1) * (i + 1) + text.charCodeAt(i % Math.max(text.length, 1) || 0)));
  const norm = Math.hypot(...v) || 1;
  return v.map((n) => n / norm);
}

/** `/api/embed` (Ollama ≥ 0.3): `input` a string or an array; `dimensions` truncates (and renormalises); token count in `prompt_eval_count`. */
function handleEmbed(x: Exchange, body: Json): void {
  const input: unknown = body.input;
  const texts = typeof input === 'string' ? [input] : input === undefined ? [] : input;
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) return x.send(400, { error: 'invalid input type' });
  const dims = typeof body.dimensions === 'number' ? body.dimensions : 8;
  const embeddings = texts.map((t: string) => fakeEmbedding(t, dims));
  const tokens = texts.reduce((n: number, t: string) => n + t.split(/\s+/).filter(Boolean).length + 2, 0);
  const out: Record<string, unknown> = { model: body.model, embeddings, total_duration: 14143917, load_duration: 1019500 };
  if (tokens > 0) out.prompt_eval_count = tokens;
  void x.answer(out);
}

/** A value of a JSON schema (the simplest one), as a model constrained by it would write. */
export function valueOfSchema(schema: Json): Json {
  if (!isObject(schema)) return {};
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (Array.isArray(schema.anyOf)) return valueOfSchema(schema.anyOf[0]);
  switch (type) {
    case 'string':
      return 'Paris';
    case 'number':
    case 'integer':
      return 3;
    case 'boolean':
      return true;
    case 'array':
      return [valueOfSchema(schema.items)];
    case 'null':
      return null;
    default: {
      const props = isObject(schema.properties) ? schema.properties : {};
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueOfSchema(v)]));
    }
  }
}

/** What Go's decoder would refuse in a chat body (the fields this fake gives meaning to). */
function goDecodeError(body: Json): string | undefined {
  if (body.format !== undefined && body.format !== 'json' && body.format !== '' && !isObject(body.format)) {
    return 'invalid format: expected "json" or a valid JSON schema';
  }
  if (body.tools !== undefined && !Array.isArray(body.tools)) return 'json: cannot unmarshal object into Go struct field ChatRequest.tools of type api.Tools';
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    for (const c of isObject(m) && Array.isArray(m.tool_calls) ? m.tool_calls : []) {
      if (!isObject(c?.function?.arguments)) {
        return 'json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments';
      }
    }
    if (isObject(m) && m.images !== undefined && !(Array.isArray(m.images) && m.images.every((i: unknown) => typeof i === 'string'))) {
      return 'json: cannot unmarshal into Go struct field Message.messages.images of type api.ImageData';
    }
  }
  return undefined;
}

/** Ollama's tool calls: `function.index` and arguments as an object (no id before 0.12). */
function ollamaToolCalls(calls: FakeToolCall[]): Json[] {
  return calls.map((c, index) => ({ function: { index, name: c.name, arguments: c.arguments } }));
}

/** Ollama's native logprobs entry for a token (with `n` alternatives). */
function logprobOf(token: string, n: number): Json {
  const entry = (t: string, logprob: number): Json => ({ token: t, logprob, bytes: [...Buffer.from(t)] });
  return { ...entry(token, -0.25), top_logprobs: Array.from({ length: n }, (_, i) => (i === 0 ? entry(token, -0.25) : entry(`alt${i}`, -2 - i))) };
}

async function handle(x: Exchange, opts: FakeOllamaOptions): Promise<void> {
  const { req, rec, b } = x;
  // The model list, as health checks read it.
  if (rec.path === '/api/tags' && req.method === 'GET')
    return x.send(200, { models: (opts.models ?? ['llama2']).map((name) => ({ name: `${name}:latest`, model: `${name}:latest` })) });
  const route = rec.path === '/api/chat' ? 'chat' : rec.path === '/api/generate' ? 'generate' : rec.path === '/api/embed' ? 'embed' : undefined;
  if (!route) return x.send(404, '404 page not found');
  if (req.method !== 'POST') return x.send(405, '405 method not allowed');
  if (rec.rawBody === '') return x.send(400, { error: 'missing request body' });
  const parsed = parseJsonBody(rec.rawBody);
  if (!parsed.ok) return x.send(400, { error: `invalid character in request body: ${parsed.error}` });
  const body: Json = parsed.value;
  if (!isObject(body)) return x.send(400, { error: 'json: cannot unmarshal into Go value of type api.ChatRequest' });
  if (typeof body.model !== 'string' || body.model === '') return x.send(400, { error: 'model is required' });
  if (!modelKnown(opts.models, body.model)) return x.send(404, { error: `model '${body.model}' not found` });
  if (route === 'embed') return handleEmbed(x, body);
  const decodeError = goDecodeError(body);
  if (decodeError) return x.send(400, { error: decodeError });

  const model = b.model ?? body.model;
  // An empty conversation or prompt only loads the model (Ollama answers done_reason "load").
  const empty = route === 'chat' ? !Array.isArray(body.messages) || body.messages.length === 0 : !body.prompt;
  // A model calls tools only when it was offered some.
  const calls = route === 'chat' && !empty && Array.isArray(body.tools) && body.tools.length > 0 && b.toolCalls ? ollamaToolCalls(b.toolCalls) : undefined;
  const json = body.format === 'json' ? '{"answer":3}' : isObject(body.format) ? JSON.stringify(valueOfSchema(body.format)) : undefined;
  const tokens = empty || calls ? [] : json !== undefined ? [json] : x.tokens;
  const text = empty || calls ? '' : (json ?? textOf(b));
  const thinking = !empty && body.think && body.think !== 'false' && b.thinking ? b.thinking : undefined;
  const topLogprobs = body.logprobs === true ? (typeof body.top_logprobs === 'number' ? body.top_logprobs : 0) : undefined;
  const completionTokens = empty ? 0 : (b.completionTokens ?? Math.max(tokens.length, calls ? 5 : 0));
  const doneReason = empty ? 'load' : b.finishReason;
  const message = (t: string, extra: Json = {}): Json => ({ message: { role: 'assistant', content: t, ...extra } });
  const content = (t: string): Json => (route === 'chat' ? message(t) : { response: t });
  const context = route === 'generate' ? { context: [1, 2, 3] } : {};
  const logprobs = (ts: string[]): Json => (topLogprobs === undefined ? {} : { logprobs: ts.map((t) => logprobOf(t, topLogprobs)) });

  if (body.stream !== false) {
    const line = (o: Json): string => `${JSON.stringify(o)}\n`;
    const onDone = calls && b.toolCallsOnDoneLine;
    const final = {
      model,
      created_at: ollamaTime(),
      ...(onDone ? message('', { tool_calls: calls }) : content('')),
      done: true,
      done_reason: doneReason,
      ...context,
      ...metrics(x, completionTokens),
    };
    const thinkingLines = thinking
      ? thinking
          .match(/\s*\S+/g)!
          .map((t) =>
            line({ model, created_at: ollamaTime(), ...(route === 'chat' ? message('', { thinking: t }) : { response: '', thinking: t }), done: false }),
          )
      : [];
    const callLines = calls && !onDone ? [line({ model, created_at: ollamaTime(), ...message('', { tool_calls: calls }), done: false })] : [];
    return x.stream({
      headers: { 'content-type': 'application/x-ndjson' },
      chunks: [...thinkingLines, ...tokens.map((t) => line({ model, created_at: ollamaTime(), ...content(t), done: false, ...logprobs([t]) })), ...callLines],
      tail: line(final),
      errorFrame: (message) => line({ error: message }),
      garbageFrame: '{"model":"llama2","created_at":\n',
    });
  }
  const extra: Json = { ...(thinking ? { thinking } : {}), ...(calls ? { tool_calls: calls } : {}) };
  return x.answer({
    model,
    created_at: ollamaTime(),
    ...(route === 'chat' ? message(text, extra) : { response: text, ...(thinking ? { thinking } : {}) }),
    done_reason: doneReason,
    done: true,
    ...logprobs(tokens),
    ...context,
    ...metrics(x, completionTokens),
  });
}

/** Start a fake Ollama on 127.0.0.1:0. */
export function startOllama(opts: FakeOllamaOptions = {}): Promise<FakeUpstream> {
  return startFakeUpstream({
    handle: (x) => handle(x, opts),
    internalError: (message) => ({ status: 500, body: { error: message } }),
  });
}
