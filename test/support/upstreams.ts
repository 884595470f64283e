/**
 * Fake upstream servers for the e2e tests: one per kind of Llama 2 server, each a real HTTP server
 * on 127.0.0.1:0 speaking the wire format in /work/shared/wire-formats.md, recording every request
 * and scriptable between tests (answer, pacing, faults). See fake-upstream.ts for the shared API.
 */
export * from './fake-upstream';
export { fakeEmbedding, startOllama, type FakeOllamaOptions } from './ollama-server';
export { startTgi } from './tgi-server';
export { startTei, teiEmbedding, teiTokens } from './tei-server';
export { startLlamaCpp } from './llamacpp-server';
export { llamaCppEmbedding, llamaCppTokens } from './llamacpp-embeddings';
export { startOpenAi, type FakeOpenAiOptions } from './openai-server';
