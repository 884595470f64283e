/**
 * The fake upstreams themselves speak each server's wire format (wire-formats.md), so that the
 * proxy's e2e tests exercise the real quirks: if these fail, every other e2e result is suspect.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ndjson, openStream, parseSse, post, sseData } from '../support/http-client';
import { type FakeUpstream, htmlErrorPage, startLlamaCpp, startOllama, startOpenAi, startTgi } from '../support/upstreams';

let ollama: FakeUpstream;
let tgi: FakeUpstream;
let llama: FakeUpstream;
let openai: FakeUpstream;

before(async () => {
  [ollama, tgi, llama, openai] = await Promise.all([startOllama({ models: ['llama2'] }), startTgi(), startLlamaCpp(), startOpenAi()]);
});
after(() => Promise.all([ollama, tgi, llama, openai].map((s) => s.close())));
beforeEach(() => [ollama, tgi, llama, openai].forEach((s) => s.reset()));

describe('ollama', () => {
  test('streams NDJSON when stream is absent, ending on done:true', async () => {
    const r = await post(`${ollama.url}/api/chat`, { model: 'llama2', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
    const lines = ndjson(r.text);
    assert.deepEqual(
      lines.map((l) => l.message.content),
      ['The', ' sum', ' of', ' 1', ' +', ' 2', ' is', ' 3.', ''],
    );
    const last = lines.at(-1);
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'stop');
    assert.equal(last.eval_count, 8);
    assert.equal(ollama.last().body.model, 'llama2');
  });

  test('non-stream generate: response, context, counts; zero counts omitted', async () => {
    ollama.set({ promptTokens: 0, text: 'Hi.' });
    const r = await post(`${ollama.url}/api/generate`, { model: 'llama2', prompt: 'x', stream: false });
    assert.equal(r.json.response, 'Hi.');
    assert.equal(typeof r.json.created_at, 'string');
    assert.ok(!Number.isNaN(Date.parse(r.json.created_at)));
    assert.deepEqual(r.json.context, [1, 2, 3]);
    assert.equal(r.json.eval_count, 1);
    assert.equal('prompt_eval_count' in r.json, false);
  });

  test('errors: bad JSON 400, unknown model 404', async () => {
    const bad = await post(`${ollama.url}/api/chat`, null, { raw: '{nope' });
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json.error, 'string');
    const unknown = await post(`${ollama.url}/api/chat`, { model: 'mistral', messages: [], stream: false });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, { error: "model 'mistral' not found" });
  });

  test('stream-error: an {"error"} line inside a 200 stream', async () => {
    ollama.set({ fault: { kind: 'stream-error', afterChunks: 2 } });
    const r = await post(`${ollama.url}/api/generate`, { model: 'llama2', prompt: 'x' });
    assert.equal(r.status, 200);
    const lines = ndjson(r.text);
    assert.equal(lines.length, 3);
    assert.equal(typeof lines[2].error, 'string');
  });
});

describe('tgi', () => {
  test('/generate: details only when asked', async () => {
    const plain = await post(`${tgi.url}/generate`, { inputs: 'Q', parameters: { max_new_tokens: 5 } });
    assert.deepEqual(plain.json, { generated_text: 'The sum of 1 + 2 is 3.' });
    const detailed = await post(`${tgi.url}/generate`, { inputs: 'Q', parameters: { details: true } });
    assert.equal(detailed.json.details.finish_reason, 'eos_token');
    assert.equal(detailed.json.details.generated_tokens, 9);
    assert.equal(detailed.headers.get('x-prompt-tokens'), '11');
  });

  test('validates like TGI: 422, and a 200 stream with one error event', async () => {
    const r = await post(`${tgi.url}/generate`, { inputs: 'Q', parameters: { top_p: 1 } });
    assert.equal(r.status, 422);
    assert.deepEqual(r.json, { error: 'Input validation error: `top_p` must be > 0.0 and < 1.0', error_type: 'validation' });
    for (const parameters of [{ temperature: 0 }, { top_k: 0 }, { top_p: 0 }]) {
      assert.equal((await post(`${tgi.url}/generate`, { inputs: 'Q', parameters })).status, 422);
    }
    const missing = await post(`${tgi.url}/generate`, { parameters: {} });
    assert.equal(missing.status, 422);
    const s = await post(`${tgi.url}/generate_stream`, { inputs: 'Q', parameters: { temperature: 0 } });
    assert.equal(s.status, 200);
    assert.deepEqual(sseData(s.text), [{ error: 'Input validation error: `temperature` must be strictly positive', error_type: 'validation' }]);
  });

  test('/generate_stream: keep-alive first, data: without space, EOS special token, no [DONE]', async () => {
    tgi.set({ text: 'Hi there' });
    const r = await post(`${tgi.url}/generate_stream`, { inputs: 'Q', parameters: { details: true } });
    assert.equal(r.headers.get('content-type'), 'text/event-stream');
    assert.ok(r.text.startsWith(':\n\ndata:{'));
    const events = sseData(r.text);
    assert.deepEqual(
      events.map((e) => [e.token.text, e.token.special, e.generated_text]),
      [
        ['Hi', false, null],
        [' there', false, null],
        ['</s>', true, 'Hi there'],
      ],
    );
    assert.deepEqual(events.at(-1).details, { finish_reason: 'eos_token', generated_tokens: 3, seed: null, input_length: 11 });
    assert.ok(!r.text.includes('[DONE]'));
  });

  test('/ (HF compat): array with the prompt echoed; streams on top-level stream:true', async () => {
    const r = await post(`${tgi.url}/`, { inputs: 'Q:', parameters: {} });
    assert.deepEqual(r.json, [{ generated_text: 'Q:The sum of 1 + 2 is 3.' }]);
    const off = await post(`${tgi.url}/`, { inputs: 'Q:', parameters: { return_full_text: false } });
    assert.deepEqual(off.json, [{ generated_text: 'The sum of 1 + 2 is 3.' }]);
    const s = await post(`${tgi.url}/`, { inputs: 'Q:', stream: true });
    assert.equal(sseData(s.text).at(-1).generated_text, 'Q:The sum of 1 + 2 is 3.');
  });
});

describe('llama.cpp', () => {
  test('400 without prompt; non-stream content and counts', async () => {
    const r = await post(`${llama.url}/completion`, { inputs: 'x' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, {
      error: { code: 400, message: "[json.exception.out_of_range.403] key 'prompt' not found", type: 'invalid_request_error' },
    });
    llama.set({ finishReason: 'length' });
    const ok = await post(`${llama.url}/completions`, { prompt: 'x', max_tokens: 8 });
    assert.equal(ok.json.content, 'The sum of 1 + 2 is 3.');
    assert.equal(ok.json.stop_type, 'limit');
    assert.equal(ok.json.generation_settings.n_predict, 8);
    assert.equal(ok.json.tokens_evaluated, 11);
  });

  test('stream: data: with space, final stop:true event with empty content, no [DONE]', async () => {
    llama.set({ text: 'A b' });
    const r = await post(`${llama.url}/completion`, { prompt: 'x', stream: true });
    assert.ok(r.text.startsWith('data: {'));
    const ev = sseData(r.text);
    assert.deepEqual(
      ev.map((e) => [e.content, e.stop]),
      [
        ['A', false],
        [' b', false],
        // The end-of-sequence token, as the real server sends it.
        ['', false],
        ['', true],
      ],
    );
    assert.equal(ev.at(-1).stop_type, 'eos');
    assert.equal(ev.at(-1).model, '/models/llama-2-7b-chat.Q4_K_M.gguf');
    // Like the real server, it closes the connection after a stream despite announcing keep-alive;
    // wait for that, so the next test's request does not land on the closing connection.
    assert.match(r.headers.get('keep-alive') ?? '', /timeout=5/);
    await sleep(100);
  });
});

describe('openai', () => {
  test('chat stream: role first, finish chunk, usage chunk, [DONE]', async () => {
    openai.set({ text: 'Hi' });
    const r = await post(`${openai.url}/v1/chat/completions`, {
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const ev = sseData(r.text);
    assert.deepEqual(ev[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.deepEqual(ev[1].choices[0].delta, { content: 'Hi' });
    assert.equal(ev[2].choices[0].finish_reason, 'stop');
    assert.deepEqual(ev[3].choices, []);
    assert.deepEqual(ev[3].usage, { prompt_tokens: 11, completion_tokens: 1, total_tokens: 12 });
    assert.equal(ev[4], '[DONE]');
  });

  test('completions JSON and error shape', async () => {
    const r = await post(`${openai.url}/v1/completions`, { model: 'm', prompt: 'x' });
    assert.equal(r.json.object, 'text_completion');
    assert.equal(r.json.choices[0].text, 'The sum of 1 + 2 is 3.');
    const e = await post(`${openai.url}/v1/completions`, { model: 'm' });
    assert.equal(e.status, 400);
    assert.deepEqual(Object.keys(e.json.error).sort(), ['code', 'message', 'param', 'type']);
  });
});

describe('faults', () => {
  test('forced status, HTML page, garbage', async () => {
    openai.set({ fault: htmlErrorPage(502) });
    const html = await post(`${openai.url}/v1/completions`, { model: 'm', prompt: 'x' });
    assert.equal(html.status, 502);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    openai.set({ fault: { kind: 'garbage' } });
    const g = await post(`${openai.url}/v1/completions`, { model: 'm', prompt: 'x' });
    assert.equal(g.status, 200);
    assert.equal(g.json, undefined);
  });

  test('reset destroys the socket; hang never answers', async () => {
    llama.set({ fault: { kind: 'reset' } });
    await assert.rejects(post(`${llama.url}/completion`, { prompt: 'x' }));
    assert.equal(await llama.last().closed, 'server-destroyed');
    llama.set({ fault: { kind: 'hang' } });
    await assert.rejects(post(`${llama.url}/completion`, { prompt: 'x' }, { timeoutMs: 100 }), /abort|timeout/i);
    assert.equal(await llama.last().closed, 'client-closed');
  });

  test('die mid-stream after N chunks; truncate ends without the final event', async () => {
    tgi.set({ fault: { kind: 'die', afterChunks: 2 } });
    const s = await openStream(`${tgi.url}/generate_stream`, { inputs: 'Q' });
    await assert.rejects(s.readAll());
    assert.equal(await tgi.last().closed, 'server-destroyed');
    tgi.set({ fault: { kind: 'truncate' } });
    const t = await post(`${tgi.url}/generate_stream`, { inputs: 'Q' });
    const events = parseSse(t.text);
    assert.ok(events.length > 0);
    assert.ok(events.every((e) => JSON.parse(e.data).generated_text === null));
  });

  test('slow stream: the first chunk arrives before the upstream finished; a disconnect is seen', async () => {
    ollama.set({ chunkDelayMs: 50 });
    const s = await openStream(`${ollama.url}/api/chat`, { model: 'llama2', messages: [{ role: 'user', content: 'x' }] });
    await s.readUntil((t) => t.includes('\n'));
    assert.equal(ollama.last().finished, false);
    s.abort();
    assert.equal(await ollama.last().closed, 'client-closed');
    assert.equal(ollama.last().clientClosed, true);
  });
});
