/** An embeddings request after validation (what the non-OpenAI upstreams are sent). */
export interface EmbeddingRequest {
  /** The texts, in order. */
  input: string[];
  /** The client sent one string, not an array (upstreams answer alike, but the body sent mirrors it). */
  single: boolean;
  /** How the client wants the vectors: `float` arrays or `base64` little-endian float32. Defaults to `float`. */
  encoding: 'float' | 'base64';
  /** Output dimensions, when the client asked for fewer. */
  dimensions?: number;
}

/** OpenAI's embeddings answer. */
export interface EmbeddingList {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
