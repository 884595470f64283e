/**
 * `stream: true` through a real Express app: every upstream's stream becomes OpenAI SSE as it
 * arrives; a stream that fails ends with an error event and never `[DONE]`; the client leaving
 * stops the upstream; `response_streaming` is obeyed.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiProxy, type Llama2Format } from '../../lib';
import { openStream, post, sseData } from '../support/http-client';
import { type ProxyApp, assertOpenAiError, chatBody, completionsBody, llama2Config, startApp } from '../support/proxy-app';
import { DEFAULT_TEXT, type FakeUpstream, type Json, startLlamaCpp, startOllama, startOpenAi, startTgi } from '../support/upstreams';

const TIMEOUT_MS = 300;

let ollama: FakeUpstream;
let tgi: FakeUpstream;
let llama: FakeUpstream;
let openai: FakeUpstream;
let proxy: ProxyApp;

interface Case {
  mount: string;
  route: 'chat' | 'completions';
  format: Llama2Format;
  upstream: () => FakeUpstream;
  /** upstream_url path. */
  path: string;
  /** Path the streamed request must reach. */
  streamPath: string;
  /** The upstream body asked for a stream. */
  askedToStream(body: Json): boolean;
  /** Usage the upstream reports (prompt, completion). */
  usage: [number, number];
}

const cases: Case[] = [];
for (const route of ['chat', 'completions'] as const) {
  const chat = route === 'chat';
  cases.push(
    {
      mount: `/ollama-${route}`,
      route,
      format: 'ollama',
      upstream: () => ollama,
      path: chat ? '/api/chat' : '/api/generate',
      streamPath: chat ? '/api/chat' : '/api/generate',
      askedToStream: (b) => b.stream === true,
      usage: [11, 8],
    },
    {
      mount: `/tgi-${route}`,
      route,
      format: 'raw',
      upstream: () => tgi,
      path: '/generate',
      streamPath: '/generate_stream',
      askedToStream: (b) => b.parameters.details === true,
      usage: [11, 9],
    },
    {
      mount: `/llamacpp-${route}`,
      route,
      format: 'raw',
      upstream: () => llama,
      path: '/completion',
      streamPath: '/completion',
      askedToStream: (b) => b.stream === true,
      usage: [11, 8],
    },
    {
      mount: `/openai-${route}`,
      route,
      format: 'openai',
      upstream: () => openai,
      path: chat ? '/v1/chat/completions' : '/v1/completions',
      streamPath: chat ? '/v1/chat/completions' : '/v1/completions',
      askedToStream: (b) => b.stream === true,
      usage: [11, 8],
    },
  );
}
cases.push({
  mount: '/hf-chat',
  route: 'chat',
  format: 'raw',
  upstream: () => tgi,
  path: '/',
  streamPath: '/',
  askedToStream: (b) => b.stream === true,
  usage: [11, 9],
});

function body(route: 'chat' | 'completions', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return route === 'chat' ? chatBody({ stream: true, ...extra }) : completionsBody({ stream: true, ...extra });
}

/** The text a converted stream carries, from chat deltas or completion texts. */
function textOf(events: Json[]): string {
  return events
    .filter((e) => e !== '[DONE]' && !e.error)
    .map((e) => e.choices?.[0]?.delta?.content ?? e.choices?.[0]?.text ?? '')
    .join('');
}

/** Asserts a converted stream ended with an error event and no [DONE]; returns the error. */
function assertStreamError(text: string): { message: string; type: string; code: string | null } {
  const events = sseData(text);
  assert.ok(!events.includes('[DONE]'), `no [DONE] after a failure:\n${text}`);
  const last = events.at(-1);
  assert.ok(last?.error, `the stream must end with an error event:\n${text}`);
  assert.equal(typeof last.error.message, 'string');
  return last.error;
}

before(async () => {
  [ollama, tgi, llama, openai] = await Promise.all([startOllama(), startTgi(), startLlamaCpp(), startOpenAi()]);
  proxy = await startApp((app) => {
    for (const c of cases) {
      app.use(
        c.mount,
        aiProxy(llama2Config(c.route, c.format, c.upstream().url + c.path, { upstream_timeout: TIMEOUT_MS, upstream_first_byte_timeout: TIMEOUT_MS })),
      );
    }
    app.use('/deny', aiProxy(llama2Config('chat', 'ollama', `${ollama.url}/api/chat`, { response_streaming: 'deny' })));
    app.use('/always', aiProxy(llama2Config('completions', 'raw', `${tgi.url}/generate`, { response_streaming: 'always' })));
  });
});
after(() => Promise.all([proxy, ollama, tgi, llama, openai].map((s) => s.close())));
beforeEach(() => [ollama, tgi, llama, openai].forEach((s) => s.reset()));

describe('OpenAI SSE frames for each upstream', () => {
  for (const c of cases) {
    test(`${c.mount} (${c.format} ${c.path})`, async () => {
      const r = await post(`${proxy.url}${c.mount}`, body(c.route));
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(r.headers.get('x-llm-model'), 'llama2/llama2');
      assert.ok(r.text.endsWith('data: [DONE]\n\n'), r.text);

      const events = sseData(r.text);
      assert.equal(events.at(-1), '[DONE]');
      const chunks = events.slice(0, -1);
      assert.ok(chunks.length >= 2);
      const object = c.route === 'chat' ? 'chat.completion.chunk' : 'text_completion';
      for (const ch of chunks) {
        assert.equal(ch.object, object);
        assert.equal(ch.id, chunks[0].id);
        assert.equal(ch.created, chunks[0].created);
        assert.equal(Number.isInteger(ch.created), true);
        assert.equal(ch.choices.length, 1);
      }
      assert.equal(textOf(chunks), DEFAULT_TEXT);
      const finishes = chunks.map((ch) => ch.choices[0].finish_reason);
      assert.deepEqual(
        finishes.filter((f) => f !== null),
        ['stop'],
        'exactly one finish_reason',
      );
      assert.equal(finishes.at(-1), 'stop', 'the last chunk carries the finish_reason');
      if (c.route === 'chat') {
        assert.equal(chunks[0].choices[0].delta.role, 'assistant');
        const withRole = chunks.filter((ch) => 'role' in ch.choices[0].delta).length;
        assert.equal(withRole, 1, 'only the first chunk carries the role');
      }

      const rec = c.upstream().last();
      assert.equal(rec.path, c.streamPath);
      assert.ok(c.askedToStream(rec.body), JSON.stringify(rec.body));
    });
  }

  test('HF `/`: the upstream gets top-level stream:true; TGI /generate is switched to /generate_stream', async () => {
    await post(`${proxy.url}/hf-chat`, body('chat'));
    assert.equal(tgi.last().body.stream, true);
    await post(`${proxy.url}/tgi-chat`, body('chat'));
    assert.equal(tgi.last().url, '/generate_stream');
  });

  test('a leading `:` keep-alive and an EOS special token from TGI never reach the client', async () => {
    const r = await post(`${proxy.url}/tgi-completions`, body('completions'));
    assert.ok(!r.text.includes('</s>'));
    assert.ok(r.text.startsWith('data: {'), r.text.slice(0, 40));
  });
});

describe('stream_options.include_usage', () => {
  for (const c of cases) {
    test(`${c.mount}: a usage chunk with choices [] before [DONE]`, async () => {
      const r = await post(`${proxy.url}${c.mount}`, body(c.route, { stream_options: { include_usage: true } }));
      const events = sseData(r.text);
      assert.equal(events.at(-1), '[DONE]');
      const usageChunk = events.at(-2);
      assert.deepEqual(usageChunk.choices, []);
      const [p, k] = c.usage;
      assert.deepEqual(usageChunk.usage, { prompt_tokens: p, completion_tokens: k, total_tokens: p + k });
      for (const ch of events.slice(0, -2)) assert.equal(ch.usage, null, 'other chunks carry usage: null');
    });
  }

  test('without include_usage there is no usage chunk', async () => {
    const r = await post(`${proxy.url}/openai-chat`, body('chat'));
    const events = sseData(r.text);
    assert.ok(events.slice(0, -1).every((e) => e.choices.length === 1 && e.usage == null));
  });
});

describe('chunks are passed on as they arrive', () => {
  for (const [mount, upstream] of [
    ['/ollama-chat', () => ollama],
    ['/tgi-chat', () => tgi],
    ['/llamacpp-completions', () => llama],
    ['/openai-chat', () => openai],
  ] as const) {
    test(`${mount}: the first chunk reaches the client before the upstream has finished`, async () => {
      const u = upstream();
      u.set({ text: 'one two three four', chunkDelayMs: 80 });
      const s = await openStream(`${proxy.url}${mount}`, body(mount.endsWith('chat') ? 'chat' : 'completions'));
      assert.equal(s.status, 200);
      const soFar = await s.readUntil((t) => textOf(safeSse(t)).length > 0);
      assert.equal(textOf(safeSse(soFar)), 'one');
      assert.equal(u.last().finished, false, 'the upstream is still writing');
      const all = await s.readAll();
      assert.equal(textOf(sseData(all)), 'one two three four');
      assert.equal(u.last().finished, true);
    });
  }

  test('the client going away aborts the upstream request', async () => {
    ollama.set({ text: 'a b c d e f g h i j', chunkDelayMs: 100 });
    const s = await openStream(`${proxy.url}/ollama-chat`, body('chat'));
    await s.readUntil((t) => textOf(safeSse(t)).length > 0);
    const started = Date.now();
    s.abort();
    const outcome = await Promise.race([ollama.last().closed, new Promise((r) => setTimeout(() => r('still open'), 1000))]);
    assert.equal(outcome, 'client-closed');
    assert.ok(Date.now() - started < 500);
    assert.equal(ollama.last().finished, false);
  });
});

/** Parses the complete events of a partial SSE text. */
function safeSse(text: string): Json[] {
  const complete = text.slice(0, text.lastIndexOf('\n\n') + 2);
  return complete ? sseData(complete) : [];
}

describe('a failing stream ends with an error event and no [DONE]', () => {
  for (const c of cases.filter((x) => x.route === 'chat')) {
    test(`${c.mount}: the upstream dies after 2 chunks`, async () => {
      c.upstream().set({ fault: { kind: 'die', afterChunks: 2 } });
      const r = await post(`${proxy.url}${c.mount}`, body(c.route));
      assert.equal(r.status, 200);
      assertStreamError(r.text);
      assert.equal(textOf(sseData(r.text)), 'The sum');
    });

    test(`${c.mount}: the upstream reports an error inside its 200 stream`, async () => {
      c.upstream().set({ fault: { kind: 'stream-error', afterChunks: 1, message: 'CUDA out of memory' } });
      const r = await post(`${proxy.url}${c.mount}`, body(c.route));
      assert.equal(r.status, 200);
      const e = assertStreamError(r.text);
      assert.match(e.message, /CUDA out of memory/);
      assert.equal(textOf(sseData(r.text)), 'The');
    });

    test(`${c.mount}: the upstream ends without its final event (truncation)`, async () => {
      c.upstream().set({ fault: { kind: 'truncate' } });
      const r = await post(`${proxy.url}${c.mount}`, body(c.route));
      assertStreamError(r.text);
    });

    test(`${c.mount}: the upstream sends an unparseable frame`, async () => {
      c.upstream().set({ fault: { kind: 'garbage' } });
      const r = await post(`${proxy.url}${c.mount}`, body(c.route));
      assert.equal(r.status, 200);
      assertStreamError(r.text);
    });
  }

  test('the upstream stalls mid-stream: the stream ends with an error within upstream_timeout', async () => {
    llama.set({ fault: { kind: 'hang', afterChunks: 2 } });
    const started = Date.now();
    const r = await post(`${proxy.url}/llamacpp-chat`, body('chat'), { timeoutMs: 3000 });
    assert.ok(Date.now() - started < TIMEOUT_MS + 1000);
    assertStreamError(r.text);
    assert.equal(textOf(sseData(r.text)), 'The sum');
  });

  test("TGI's validation error, sent as a 200 stream event, becomes an error event", async () => {
    // Five stop sequences: TGI allows four and answers the stream route with HTTP 200 and one error event.
    const r = await post(`${proxy.url}/tgi-chat`, body('chat', { stop: ['a', 'b', 'c', 'd', 'e'] }));
    const e = assertStreamError(r.text);
    assert.match(e.message, /stop sequences/);
    // As in TGI's JSON error body for the same error (HTTP 422): the same type, its error_type as the code.
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.code, 'validation');
  });
});

describe('failures before the stream starts are JSON errors', () => {
  test('an upstream non-2xx keeps its status', async () => {
    openai.set({ fault: { kind: 'status', status: 503, body: { error: { message: 'overloaded', type: 'server_error', param: null, code: null } } } });
    assertOpenAiError(await post(`${proxy.url}/openai-chat`, body('chat')), 503, 'overloaded');
  });

  test('an upstream that never answers → 504', async () => {
    tgi.set({ fault: { kind: 'hang' } });
    assertOpenAiError(await post(`${proxy.url}/tgi-chat`, body('chat'), { timeoutMs: 3000 }), 504);
  });

  test('connection reset → 502', async () => {
    ollama.set({ fault: { kind: 'reset' } });
    assertOpenAiError(await post(`${proxy.url}/ollama-chat`, body('chat')), 502);
  });
});

describe('response_streaming', () => {
  test('deny: a streaming request → 400', async () => {
    const r = await post(`${proxy.url}/deny`, body('chat'));
    assertOpenAiError(r, 400, 'response streaming is not enabled for this LLM');
    assert.equal(ollama.requests.length, 0);
  });

  test('deny: a non-streaming request is answered as JSON', async () => {
    const r = await post(`${proxy.url}/deny`, chatBody());
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(ollama.last().body.stream, false);
  });

  test('always: streamed without the client asking', async () => {
    const r = await post(`${proxy.url}/always`, completionsBody());
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = sseData(r.text);
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(textOf(events), DEFAULT_TEXT);
    assert.equal(tgi.last().path, '/generate_stream');
  });
});
