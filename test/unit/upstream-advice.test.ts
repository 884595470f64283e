import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configWarnings, type AiProxyConfig, type RouteType } from '../../lib';

const cfg = (route_type: RouteType, upstream_url: string, llama2_format: 'ollama' | 'openai' = 'ollama'): AiProxyConfig => ({
  route_type,
  model: { provider: 'llama2', name: 'm', options: { llama2_format, upstream_url } },
});

test('the right Ollama paths give no warning, also behind a path prefix', () => {
  assert.deepEqual(configWarnings(cfg('llm/v1/chat', 'http://h:11434/api/chat')), []);
  assert.deepEqual(configWarnings(cfg('llm/v1/completions', 'http://h/ollama/api/generate')), []);
  assert.deepEqual(configWarnings(cfg('llm/v1/embeddings', 'http://h/api/embed')), []);
  assert.deepEqual(configWarnings(cfg('llm/v1/chat', 'http://h/v1/chat', 'openai')), []);
});

test('a wrong path gets the URL to use, keeping a prefix, and never shows the query', () => {
  const [w] = configWarnings(cfg('llm/v1/chat', 'http://h:11434/ollama/v1/chat?key=secret'));
  assert.match(w!, /Set model\.options\.upstream_url to "http:\/\/h:11434\/ollama\/api\/chat"/);
  assert.doesNotMatch(w!, /secret/);
  assert.match(configWarnings(cfg('llm/v1/embeddings', 'http://h/api/embeddings'))[0]!, /native API is \/api\/embed/);
  assert.match(configWarnings(cfg('llm/v1/completions', 'http://h/api/chat'))[0]!, /serves for llm\/v1\/completions: Ollama's native API is \/api\/generate/);
});
