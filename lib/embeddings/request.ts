import type { ResolvedConfig } from '../config';
import { ProxyError } from '../errors';
import type { LlmRequest } from '../formats/format';
import { resolveModel } from '../llm-request';
import type { EmbeddingRequest } from './types';

/** OpenAI caps one request at 2048 inputs. */
const MAX_INPUTS = 2048;

/** The fields the Ollama and raw upstreams can be given; anything else is refused by name. */
const MAPPED = new Set(['model', 'input', 'encoding_format', 'dimensions']);

/**
 * Checks an OpenAI embeddings body and turns it into an `LlmRequest` of kind `embeddings`. For the
 * `openai` format every other field is passed on as is; for `ollama` and `raw` a field with no
 * counterpart upstream (e.g. `user`, token-array input) is a 400 naming it, never dropped.
 */
export function toEmbeddingsRequest(body: Record<string, unknown>, config: ResolvedConfig): LlmRequest {
  const passThrough = config.model.options.llama2_format === 'openai';
  if (!passThrough) {
    for (const key of Object.keys(body)) {
      if (!MAPPED.has(key) && body[key] !== undefined && body[key] !== null) {
        throw new ProxyError(
          400,
          `"${key}" is not supported by this ${config.model.options.llama2_format} embeddings upstream`,
          'invalid_request_error',
          'unsupported_parameter',
          key,
        );
      }
    }
  }
  const embedding: EmbeddingRequest = { ...readInput(body.input, passThrough), encoding: readEncoding(body.encoding_format) };
  const dimensions = body.dimensions;
  if (dimensions !== undefined && dimensions !== null) {
    if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1) {
      throw new ProxyError(400, '"dimensions" must be an integer >= 1', 'invalid_request_error', 'invalid_value');
    }
    if (config.model.options.llama2_format === 'raw') {
      throw new ProxyError(
        400,
        '"dimensions" is not supported by this raw embeddings upstream (llama.cpp / TEI return the model\'s full size)',
        'invalid_request_error',
        'unsupported_parameter',
        'dimensions',
      );
    }
    embedding.dimensions = dimensions;
  }
  return {
    kind: 'embeddings',
    model: resolveModel(body.model, config.model.name, config.client_model),
    stream: false,
    includeUsage: false,
    body,
    embedding,
  };
}

function readInput(input: unknown, passThrough: boolean): Pick<EmbeddingRequest, 'input' | 'single'> {
  if (typeof input === 'string') return { input: [input], single: true };
  if (Array.isArray(input) && input.length > 0 && input.length <= MAX_INPUTS) {
    if (input.every((s) => typeof s === 'string')) return { input: input, single: false };
    // Token arrays: an OpenAI-compatible server may take them; the others embed text only.
    if (passThrough && input.every((t) => typeof t === 'number' || Array.isArray(t))) return { input: [], single: false };
  }
  if (Array.isArray(input) && input.length > MAX_INPUTS)
    throw new ProxyError(400, `"input" has more than ${MAX_INPUTS} items`, 'invalid_request_error', 'invalid_value');
  throw new ProxyError(400, 'this llm/v1/embeddings route expects "input": a string or a non-empty array of strings', 'invalid_request_error', 'invalid_value');
}

function readEncoding(v: unknown): EmbeddingRequest['encoding'] {
  if (v === undefined || v === null || v === 'float') return 'float';
  if (v === 'base64') return 'base64';
  throw new ProxyError(400, '"encoding_format" must be "float" or "base64"', 'invalid_request_error', 'invalid_value');
}
