export { embeddingsFormat, embeddingsDialect, fromEmbeddingsUpstream, toEmbeddingsUpstream, type EmbeddingsDialect } from './formats';
export { toEmbeddingsRequest } from './request';
export { floatsToBase64, base64ToFloats } from './base64';
export type { EmbeddingList, EmbeddingRequest } from './types';
