/**
 * A mounted aiProxy answers its mount path and its route type's OpenAI path only; any other
 * sub-path is an OpenAI-shaped 404 with a hint (the AI SDK's default `openai(…)` posts to
 * /responses). And the client model policy: Kong's 400 by default, `client_model: 'replace'` on request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import { ChatOpenAI } from '@langchain/openai';
import { aiProxy } from '../../lib';
import { post } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, completionsBody, llama2Config, startApp } from '../support/proxy-app';
import { DEFAULT_TEXT, type FakeUpstream, startOllama } from '../support/upstreams';

let ollama: FakeUpstream;
let proxy: ProxyApp;

before(async () => {
  ollama = await startOllama();
  proxy = await startApp((app) => {
    app.use('/llama2-chat', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`)));
    app.use('/llama2-completions', aiProxy(llama2Config('completions', 'ollama', `${ollama.url}/api/generate`)));
    app.post('/exact-chat', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`)));
    app.use('/any-model', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { client_model: 'replace' })));
  });
});
after(() => Promise.all([proxy.close(), ollama.close()]));

describe('strict sub-paths of a mounted aiProxy', () => {
  test('the mount path and the OpenAI path of the route type answer', async () => {
    for (const path of ['/llama2-chat', '/llama2-chat/', '/llama2-chat/chat/completions', '/llama2-chat/chat/completions?x=1']) {
      const r = await post(proxy.url + path, chatBody());
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.equal(r.json.choices[0].message.content, DEFAULT_TEXT);
    }
    const r = await post(`${proxy.url}/llama2-completions/completions`, completionsBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'text_completion');
  });

  test('/responses gets a 404 that says to use chat completions', async () => {
    const r = await post(`${proxy.url}/llama2-chat/responses`, { model: 'llama2', input: 'hi' });
    const e = assertOpenAiError(r, 404, /Responses API .* not supported: use Chat Completions \(POST \/llama2-chat\/chat\/completions\).*openai\.chat/);
    assert.equal(e.code, 'unknown_url');
    assert.equal(ollama.requests.filter((q) => q.body?.input === 'hi').length, 0);
  });

  test('the path of another route type, or any other, gets a 404 naming what works', async () => {
    assertOpenAiError(
      await post(`${proxy.url}/llama2-chat/completions`, completionsBody()),
      404,
      /\/llama2-chat\/completions is the path of llm\/v1\/completions, but this route is llm\/v1\/chat/,
    );
    assertOpenAiError(
      await post(`${proxy.url}/llama2-chat/foo`, chatBody()),
      404,
      /no route at \/llama2-chat\/foo: this llm\/v1\/chat route answers POST \/llama2-chat and POST \/llama2-chat\/chat\/completions/,
    );
    assertOpenAiError(await post(`${proxy.url}/llama2-completions/chat/completions`, chatBody()), 404, /path of llm\/v1\/chat/);
  });

  test('a route registered with app.post(path) is not affected; GET still falls through', async () => {
    const r = await post(`${proxy.url}/exact-chat`, chatBody());
    assert.equal(r.status, 200, r.text);
    const g = await post(`${proxy.url}/llama2-chat/foo`, undefined, { method: 'GET' });
    assert.equal(g.status, 404);
    assert.doesNotMatch(g.headers.get('content-type') ?? '', /json/);
  });

  test("the AI SDK's default openai('llama2') learns to use openai.chat(), which works", async () => {
    const provider = createOpenAI({ baseURL: `${proxy.url}/llama2-chat`, apiKey: 'x' });
    await assert.rejects(generateText({ model: provider('llama2'), prompt: 'What is 1 + 2?', maxRetries: 0 }), (err: Error) => {
      assert.match(err.message, /not supported: use Chat Completions/);
      return true;
    });
    const ok = await generateText({ model: provider.chat('llama2'), prompt: 'What is 1 + 2?', maxRetries: 0 });
    assert.equal(ok.text, DEFAULT_TEXT);
  });
});

describe('client model policy', () => {
  test("by default another model is refused with Kong's 400", async () => {
    const r = await post(`${proxy.url}/llama2-chat`, chatBody({ model: 'gpt-4o-mini' }));
    assert.equal(assertOpenAiError(r, 400, 'cannot use own model - must be: llama2').code, 'model_not_allowed');
  });

  test("client_model: 'replace' sends the configured model instead", async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/any-model`, apiKey: 'x', maxRetries: 0 });
    const c = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(c.choices[0]?.message.content, DEFAULT_TEXT);
    assert.equal(ollama.last().body.model, 'llama2');
    assert.equal(c.model, 'llama2');
  });

  test("LangChain's ChatOpenAI without a model: 400 by default, answered with client_model: 'replace'", async () => {
    const lc = (mount: string) => new ChatOpenAI({ configuration: { baseURL: `${proxy.url}/${mount}` }, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(lc('llama2-chat').invoke('hi'), /cannot use own model - must be: llama2/);
    const answer = await lc('any-model').invoke('hi');
    assert.equal(answer.content, DEFAULT_TEXT);
    assert.equal(ollama.last().body.model, 'llama2');
  });

  test('client_model only takes reject or replace', () => {
    assert.throws(
      () => aiProxy({ ...llama2Config('chat', 'ollama', 'http://127.0.0.1:1/api/chat'), client_model: 'ignore' as never }),
      /client_model must be one of "reject", "replace"/,
    );
  });
});
