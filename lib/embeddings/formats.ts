import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedConfig } from '../config';
import { AiProxyConfigError, UpstreamFormatError } from '../errors';
import type { Format, LlmRequest } from '../formats/format';
import { describe, errorMessageOf, isRecord } from '../formats/util';
import type { Completion } from '../openai-types';
import { base64ToFloats, floatsToBase64 } from './base64';
import type { EmbeddingList, EmbeddingRequest } from './types';

/** The upstream an embeddings route speaks to, once the config is read. */
export type EmbeddingsDialect = 'ollama' | 'openai' | 'llamacpp' | 'tei';

/**
 * Which server a `raw` embeddings upstream is, from `raw_dialect` or the path: TEI's `/embed` or
 * llama.cpp's `/embedding(s)`. Anything else has no faithful mapping: a config error, not a guess.
 */
export function embeddingsDialect(config: ResolvedConfig): EmbeddingsDialect {
  const { llama2_format, raw_dialect, upstream_url } = config.model.options;
  if (llama2_format !== 'raw') return llama2_format;
  if (raw_dialect === 'tgi') return 'tei';
  if (raw_dialect === 'llamacpp') return 'llamacpp';
  const path = new URL(upstream_url).pathname.replace(/\/+$/, '');
  if (path.endsWith('/embed')) return 'tei';
  if (path.endsWith('/embedding') || path.endsWith('/embeddings')) return 'llamacpp';
  throw new AiProxyConfigError([
    {
      path: 'model.options.upstream_url',
      message:
        `model.options.upstream_url: llm/v1/embeddings with llama2_format "raw" needs llama.cpp's /embedding or TEI's /embed, got ${JSON.stringify(upstream_url)} ` +
        '(for an OpenAI-compatible /v1/embeddings use llama2_format "openai")',
    },
  ]);
}

function vectorOf(value: unknown, where: string): number[] {
  if (typeof value === 'string') return base64ToFloats(value);
  if (!Array.isArray(value) || value.length === 0)
    throw new UpstreamFormatError(`cannot read the embedding at ${where}: expected an array of numbers; got ${describe(value)}`);
  for (const n of value) {
    if (typeof n !== 'number' || !Number.isFinite(n))
      throw new UpstreamFormatError(`cannot read the embedding at ${where}: expected finite numbers; got ${describe(n)}`);
  }
  return value as number[];
}

/** llama.cpp's native answer: `[{index, embedding: [[…]]}]` (pooled: one vector), or `{embedding: […]}` (older builds). */
function llamaCppVectors(body: unknown): number[][] {
  const items = Array.isArray(body) ? body : isRecord(body) && body.embedding !== undefined ? [{ index: 0, embedding: body.embedding }] : undefined;
  if (!items) throw new UpstreamFormatError(`cannot read the llama.cpp embeddings answer: expected [{index, embedding}]; got ${describe(body)}`);
  const out: number[][] = [];
  items.forEach((item: unknown, i: number) => {
    if (!isRecord(item)) throw new UpstreamFormatError(`cannot read the llama.cpp embeddings answer: got ${describe(item)}`);
    let e = item.embedding;
    if (Array.isArray(e) && Array.isArray(e[0])) {
      if (e.length !== 1) {
        throw new UpstreamFormatError(
          'llama.cpp answered one vector per token (pooling "none"): start llama-server with --embeddings --pooling mean (or cls, last)',
        );
      }
      e = e[0];
    }
    out[typeof item.index === 'number' && Number.isInteger(item.index) && item.index >= 0 && item.index < items.length ? item.index : i] = vectorOf(
      e,
      `[${i}]`,
    );
  });
  return out;
}

function ollamaVectors(body: unknown): number[][] {
  if (!isRecord(body) || !Array.isArray(body.embeddings)) {
    throw new UpstreamFormatError(`cannot read the Ollama /api/embed answer: expected embeddings; got ${describe(body)}`);
  }
  return body.embeddings.map((e: unknown, i: number) => vectorOf(e, `embeddings[${i}]`));
}

function openaiVectors(body: unknown): number[][] {
  if (!isRecord(body) || !Array.isArray(body.data)) {
    throw new UpstreamFormatError(`cannot read the OpenAI-compatible embeddings answer: expected data; got ${describe(body)}`);
  }
  const data: unknown[] = body.data;
  const out: number[][] = [];
  data.forEach((item: unknown, i: number) => {
    const index =
      isRecord(item) && typeof item.index === 'number' && Number.isInteger(item.index) && item.index >= 0 && item.index < data.length ? item.index : i;
    out[index] = vectorOf(isRecord(item) ? item.embedding : undefined, `data[${i}]`);
  });
  return out;
}

function count(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
}

/** OpenAI's list from the vectors, each in the encoding the client asked for. */
export function toEmbeddingList(vectors: number[][], req: LlmRequest, model: string, promptTokens: number): EmbeddingList {
  const e = req.embedding!;
  return {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: e.encoding === 'base64' ? floatsToBase64(v) : v })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** The body each dialect is sent. */
export function toEmbeddingsUpstream(dialect: EmbeddingsDialect, req: LlmRequest): Record<string, unknown> {
  const e: EmbeddingRequest = req.embedding!;
  const input = e.single ? e.input[0] : e.input;
  switch (dialect) {
    case 'ollama':
      return e.dimensions === undefined ? { model: req.model, input } : { model: req.model, input, dimensions: e.dimensions };
    case 'llamacpp':
      return { content: input };
    case 'tei':
      return { inputs: input };
    case 'openai':
      // Floats from the upstream, encoded here when the client wants base64: not every
      // OpenAI-compatible server implements base64, and this way the answer is the same from all.
      return { ...req.body, model: req.model, encoding_format: 'float' };
  }
}

function vectorsFrom(dialect: EmbeddingsDialect, body: unknown): number[][] {
  const err = errorMessageOf(body);
  if (err !== undefined) throw new UpstreamFormatError(`the embeddings upstream answered with an error: ${err}`);
  switch (dialect) {
    case 'ollama':
      return ollamaVectors(body);
    case 'llamacpp':
      return llamaCppVectors(body);
    case 'openai':
      return openaiVectors(body);
    case 'tei':
      if (!Array.isArray(body)) throw new UpstreamFormatError(`cannot read the TEI /embed answer: expected an array of vectors; got ${describe(body)}`);
      return body.map((v: unknown, i: number) => vectorOf(v, `[${i}]`));
  }
}

/** An upstream answer as OpenAI's embeddings list. */
export function fromEmbeddingsUpstream(dialect: EmbeddingsDialect, body: unknown, req: LlmRequest, headers?: IncomingHttpHeaders): EmbeddingList {
  const vectors = vectorsFrom(dialect, body);
  const expected = req.embedding!.input.length;
  // Token-array input is passed to an OpenAI-compatible server uncounted.
  if ((expected > 0 && vectors.length !== expected) || vectors.some((v) => v === undefined)) {
    throw new UpstreamFormatError(`the embeddings upstream answered ${vectors.length} vectors for ${expected} inputs`);
  }
  let model = req.model;
  let tokens = 0;
  if (isRecord(body)) {
    if (typeof body.model === 'string' && body.model !== '') model = body.model;
    tokens = dialect === 'ollama' ? count(body.prompt_eval_count) : isRecord(body.usage) ? count(body.usage.prompt_tokens) : 0;
  } else if (dialect === 'tei') {
    tokens = count(headers?.['x-compute-tokens']);
  }
  return toEmbeddingList(vectors, req, dialect === 'llamacpp' ? req.model : model, tokens);
}

/**
 * The `Format` of an embeddings route. Embeddings are never streamed, so only the whole-answer half
 * is used; the answer is an embeddings list (typed as the relays' `Completion` for the usage they report).
 */
export function embeddingsFormat(config: ResolvedConfig): Format {
  const dialect = embeddingsDialect(config);
  return {
    toUpstream: (req) => toEmbeddingsUpstream(dialect, req),
    fromUpstream: (body, req, _ctx, headers) => fromEmbeddingsUpstream(dialect, body, req, headers) as unknown as Completion,
    streamFraming: 'sse',
    fromStreamMessage: () => {
      throw new UpstreamFormatError('embeddings are not streamed');
    },
  };
}
