/**
 * llama.cpp's embeddings endpoints, for the fake llama.cpp server: the native `/embedding` (alias
 * `/embeddings`) and the OpenAI-compatible `/v1/embeddings`. Shapes as the real `llama-server`
 * (shared/llamacpp build, started with `--embeddings --pooling mean`) answers them; the llama.cpp
 * suite (test/llamacpp/embeddings.test.ts) checks these shapes against the real server:
 * - `/embedding` `{"content": "hi"}` or `{"content": ["a", "b"]}` (or `input`): a bare array
 *   `[{"index": 0, "embedding": [[...64 floats]]}]`, one pooled vector nested in an array, no model, no usage;
 * - `/v1/embeddings` `{"input": ...}` (or `content`): `{"model", "object": "list", "usage": {"prompt_tokens",
 *   "total_tokens"}, "data": [{"embedding": [...], "index", "object": "embedding"}]}`; `model` is the
 *   request's, or the model file path when none; with `encoding_format: "base64"` each item's
 *   embedding is a base64 float32 string and the item carries `"encoding_format": "base64"`;
 * - vectors are L2-normalised on both; an empty string is embedded (one token, BOS);
 * - errors close the connection: no `input`/`content` is 400 `invalid_request_error`, an empty array or a
 *   value of the wrong type is 500 `server_error`, unparseable JSON too.
 */
import type { Exchange, Json } from './fake-upstream';
import { isObject, parseJsonBody } from './fake-upstream';
import { fakeEmbedding } from './ollama-server';

/** The size of the tiny model's vectors. */
export const LLAMACPP_EMBEDDING_SIZE = 64;

const close = { connection: 'close' };

function llamaError(code: number, message: string, type: string): Json {
  return { error: { code, message, type } };
}

/** The vector the fake gives a text (a token array is embedded as its text form), BOS first as the model sees it. */
export function llamaCppEmbedding(input: string | number[]): number[] {
  return fakeEmbedding(`<s>${typeof input === 'string' ? input : input.join(' ')}`, LLAMACPP_EMBEDDING_SIZE);
}

/** The token count the fake reports: BOS plus one per word ("hello world" is 3, as the real tokenizer says). */
export function llamaCppTokens(input: string | number[]): number {
  return 1 + (typeof input === 'string' ? input.split(/\s+/).filter(Boolean).length : input.length);
}

/** The prompts of a request, or the error the real server answers. */
function promptsOf(body: Json): { prompts: (string | number[])[] } | { status: number; error: Json } {
  const value = body.input !== undefined ? body.input : body.content;
  if (value === undefined) return { status: 400, error: llamaError(400, '"input" or "content" must be provided', 'invalid_request_error') };
  const wrong = {
    status: 500,
    error: llamaError(
      500,
      '"prompt" elements must be a string, a list of tokens, a JSON object containing a prompt string, or a list of mixed strings & tokens.',
      'server_error',
    ),
  };
  if (typeof value === 'string') return { prompts: [value] };
  if (!Array.isArray(value)) return wrong;
  if (value.length === 0) return { status: 500, error: llamaError(500, '"prompt" must not be empty', 'server_error') };
  // One list of token ids is one prompt; otherwise each element is one.
  if (value.every((t) => typeof t === 'number')) return { prompts: [value] };
  if (!value.every((p) => typeof p === 'string' || (Array.isArray(p) && p.every((t) => typeof t === 'number')))) return wrong;
  return { prompts: value };
}

/** Handles `/embedding`, `/embeddings` and `/v1/embeddings`; `model` is what the server reports when the request names none. */
export function handleLlamaCppEmbeddings(x: Exchange, model: string): Promise<void> | void {
  const openai = x.rec.path === '/v1/embeddings';
  const parsed = parseJsonBody(x.rec.rawBody);
  if (!parsed.ok) return x.send(500, llamaError(500, `[json.exception.parse_error.101] parse error: ${parsed.error}`, 'server_error'), close);
  const body: Json = isObject(parsed.value) ? parsed.value : {};
  const read = promptsOf(body);
  if ('error' in read) return x.send(read.status, read.error, close);
  const vectors = read.prompts.map(llamaCppEmbedding);
  if (!openai) return x.answer(vectors.map((v, index) => ({ index, embedding: [v] })));
  const tokens = read.prompts.reduce((n: number, p) => n + llamaCppTokens(p), 0);
  const base64 = body.encoding_format === 'base64';
  const data = vectors.map((v, index) =>
    base64
      ? { embedding: Buffer.from(new Float32Array(v).buffer).toString('base64'), index, object: 'embedding', encoding_format: 'base64' }
      : { embedding: v, index, object: 'embedding' },
  );
  return x.answer({
    model: typeof body.model === 'string' ? body.model : model,
    object: 'list',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
    data,
  });
}
