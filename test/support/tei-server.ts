/**
 * A fake Hugging Face text-embeddings-inference (TEI) server: `POST /embed`, as its router answers it.
 * - `{"inputs": "text" | ["a", "b"], "truncate"?: bool, "normalize"?: bool}` gives a bare JSON array of
 *   vectors `[[...], ...]`, one per input, in order; `normalize` defaults to true (unit vectors),
 *   `truncate` (default false) only matters for inputs longer than the model's window (never here);
 * - no usage in the body: the token count is the `x-compute-tokens` header, beside TEI's other
 *   `x-compute-*` / `x-*-time` headers;
 * - errors are `{"error": "...", "error_type": "..."}`: an empty string or array is 400 `empty`
 *   (`` `inputs` cannot be empty ``), more inputs than `--max-client-batch-size` (32) is 413 `validation`;
 *   a body axum cannot read is plain text: 415 without a JSON content-type, 400 for bad JSON, 422 for
 *   a missing or mistyped `inputs`.
 */
import { type Exchange, type FakeUpstream, type Json, isObject, parseJsonBody, startFakeUpstream } from './fake-upstream';
import { fakeEmbedding } from './ollama-server';

/** The size of the fake model's vectors. */
export const TEI_EMBEDDING_SIZE = 16;
const MAX_CLIENT_BATCH_SIZE = 32;

/** The vector TEI gives a text (normalised, its default). */
export function teiEmbedding(text: string): number[] {
  return fakeEmbedding(text, TEI_EMBEDDING_SIZE);
}

/** Tokens TEI counts for a text: one per word plus [CLS] and [SEP]. */
export function teiTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length + 2;
}

function handle(x: Exchange): Promise<void> | void {
  const { req, rec } = x;
  if (rec.path !== '/embed') return x.send(404, '');
  if (req.method !== 'POST') return x.send(405, '');
  if (!/^application\/(.+\+)?json/i.test(String(req.headers['content-type'] ?? ''))) {
    return x.send(415, 'Expected request with `Content-Type: application/json`');
  }
  const parsed = parseJsonBody(rec.rawBody);
  if (!parsed.ok) return x.send(400, `Failed to parse the request body as JSON: ${parsed.error}`);
  const body: Json = parsed.value;
  const fail = (what: string) => x.send(422, `Failed to deserialize the JSON body into the target type: ${what} at line 1 column ${rec.rawBody.length}`);
  if (!isObject(body)) return fail('invalid type: expected struct EmbedRequest');
  if (!('inputs' in body)) return fail('missing field `inputs`');
  const inputs: unknown = body.inputs;
  const texts = typeof inputs === 'string' ? [inputs] : inputs;
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) return fail('inputs: data did not match any variant of untagged enum Input');
  for (const flag of ['truncate', 'normalize']) {
    if (body[flag] != null && typeof body[flag] !== 'boolean') return fail(`${flag}: invalid type: expected a boolean`);
  }
  if (texts.length === 0 || texts.some((t) => t === '')) return x.send(400, { error: '`inputs` cannot be empty', error_type: 'empty' });
  if (texts.length > MAX_CLIENT_BATCH_SIZE) {
    return x.send(413, { error: `batch size ${texts.length} > maximum allowed batch size ${MAX_CLIENT_BATCH_SIZE}`, error_type: 'validation' });
  }
  // Unnormalised vectors keep the model's own scale; any factor other than 1 shows the difference.
  const scale = body.normalize === false ? 3.5 : 1;
  const vectors = texts.map((t: string) => teiEmbedding(t).map((n) => n * scale));
  const tokens = texts.reduce((n: number, t: string) => n + teiTokens(t), 0);
  return x.answer(vectors, {
    'x-compute-type': 'cpu',
    'x-compute-time': '2',
    'x-compute-characters': String(texts.reduce((n: number, t: string) => n + [...t].length, 0)),
    'x-compute-tokens': String(tokens),
    'x-total-time': '2',
    'x-tokenization-time': '0',
    'x-queue-time': '0',
    'x-inference-time': '1',
  });
}

/** Start a fake TEI on 127.0.0.1:0. */
export function startTei(): Promise<FakeUpstream> {
  return startFakeUpstream({
    handle,
    internalError: (message) => ({ status: 424, body: { error: message, error_type: 'backend' } }),
  });
}
