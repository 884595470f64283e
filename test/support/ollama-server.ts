/**
 * A fake Ollama (`/api/chat`, `/api/generate`), per wire-formats.md §1: `stream` absent means
 * NDJSON streaming, zero counts are omitted, durations are nanoseconds, errors are `{"error": "..."}`.
 */
import {
  type Exchange,
  type FakeUpstream,
  type Json,
  isObject,
  parseJsonBody,
  startFakeUpstream,
  textOf,
} from './fake-upstream';

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

async function handle(x: Exchange, opts: FakeOllamaOptions): Promise<void> {
  const { req, rec, b } = x;
  // The model list, as health checks read it.
  if (rec.path === '/api/tags' && req.method === 'GET') return x.send(200, { models: (opts.models ?? ['llama2']).map((name) => ({ name: `${name}:latest`, model: `${name}:latest` })) });
  const route = rec.path === '/api/chat' ? 'chat' : rec.path === '/api/generate' ? 'generate' : undefined;
  if (!route) return x.send(404, '404 page not found');
  if (req.method !== 'POST') return x.send(405, '405 method not allowed');
  if (rec.rawBody === '') return x.send(400, { error: 'missing request body' });
  const parsed = parseJsonBody(rec.rawBody);
  if (!parsed.ok) return x.send(400, { error: `invalid character in request body: ${parsed.error}` });
  const body: Json = parsed.value;
  if (!isObject(body)) return x.send(400, { error: 'json: cannot unmarshal into Go value of type api.ChatRequest' });
  if (typeof body.model !== 'string' || body.model === '') return x.send(400, { error: 'model is required' });
  if (!modelKnown(opts.models, body.model)) return x.send(404, { error: `model '${body.model}' not found` });

  const model = b.model ?? body.model;
  // An empty conversation or prompt only loads the model (Ollama answers done_reason "load").
  const empty = route === 'chat' ? !Array.isArray(body.messages) || body.messages.length === 0 : !body.prompt;
  const tokens = empty ? [] : x.tokens;
  const text = empty ? '' : textOf(b);
  const completionTokens = empty ? 0 : (b.completionTokens ?? tokens.length);
  const doneReason = empty ? 'load' : b.finishReason;
  const content = (t: string): Json => (route === 'chat' ? { message: { role: 'assistant', content: t } } : { response: t });
  const context = route === 'generate' ? { context: [1, 2, 3] } : {};

  if (body.stream !== false) {
    const line = (o: Json): string => `${JSON.stringify(o)}\n`;
    const final = {
      model,
      created_at: ollamaTime(),
      ...content(''),
      done: true,
      done_reason: doneReason,
      ...context,
      ...metrics(x, completionTokens),
    };
    return x.stream({
      headers: { 'content-type': 'application/x-ndjson' },
      chunks: tokens.map((t) => line({ model, created_at: ollamaTime(), ...content(t), done: false })),
      tail: line(final),
      errorFrame: (message) => line({ error: message }),
      garbageFrame: '{"model":"llama2","created_at":\n',
    });
  }
  return x.answer({
    model,
    created_at: ollamaTime(),
    ...content(text),
    done_reason: doneReason,
    done: true,
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
