/**
 * The configured credentials never leave the proxy, whatever the upstream echoes: JSON errors,
 * 2xx answers, stream error frames, excerpts of unexpected lines, statistics and log lines; for
 * all four upstream kinds, streamed and not. Echoes are tried as upstreams make them: the whole
 * header value, the token without its `Bearer ` prefix (OpenAI's 401), a masked `sk-abc***wxyz`,
 * the query value URL-encoded, and a long message cut in the middle of the token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import createDebug from 'debug';
import { aiProxy, type ProxyStatistics } from '../../lib';
import { log } from '../../lib/debug';
import { post } from '../support/http-client';
import { type ProxyApp, chatBody, llama2Config, startApp } from '../support/proxy-app';
import { type ScriptedUpstream, startScripted } from '../support/scripted-upstream';

const TOKEN = 'sk-proj-Zq81Xy77LmNoPq12Rs34Tu56';
const HEADER = `Bearer ${TOKEN}`;
const QUERY = 'qk/9f8e7d6c+5b4a 3210';
/** Every form of a secret that must never be seen. */
const FORBIDDEN = [TOKEN, QUERY, encodeURIComponent(QUERY), TOKEN.slice(0, 12), TOKEN.slice(-12)];

let up: ScriptedUpstream;
let proxy: ProxyApp;
const stats: ProxyStatistics[] = [];

interface Kind {
  name: string;
  mount: string;
  path: string;
  format: 'ollama' | 'raw' | 'openai';
  sse: boolean;
  /** An in-stream error event carrying `message`, framed. */
  streamError(message: string): string;
  /** The kind's non-2xx error body carrying `message`. */
  errorBody(message: string): unknown;
}

const kinds: Kind[] = [
  {
    name: 'ollama',
    mount: '/ollama',
    path: '/api/chat',
    format: 'ollama',
    sse: false,
    streamError: (m) => `${JSON.stringify({ error: m })}\n`,
    errorBody: (m) => ({ error: m }),
  },
  {
    name: 'raw TGI',
    mount: '/tgi',
    path: '/generate',
    format: 'raw',
    sse: true,
    streamError: (m) => `data:${JSON.stringify({ error: m, error_type: 'validation' })}\n\n`,
    errorBody: (m) => ({ error: m, error_type: 'validation' }),
  },
  {
    name: 'raw llama.cpp',
    mount: '/llamacpp',
    path: '/completion',
    format: 'raw',
    sse: true,
    streamError: (m) => `data: ${JSON.stringify({ error: { code: 500, message: m, type: 'server_error' } })}\n\n`,
    errorBody: (m) => ({ error: { code: 401, message: m, type: 'authentication_error' } }),
  },
  {
    name: 'openai',
    mount: '/openai',
    path: '/v1/chat/completions',
    format: 'openai',
    sse: true,
    streamError: (m) => `data: ${JSON.stringify({ error: { message: m, type: 'server_error', param: null, code: null } })}\n\n`,
    errorBody: (m) => ({ error: { message: m, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }),
  },
];

/** How upstreams echo a credential. */
const echoes: [string, string][] = [
  ['the whole header value', `header was ${HEADER}`],
  [
    'the token without its Bearer prefix (OpenAI 401)',
    `Incorrect API key provided: ${TOKEN}. You can find your API key at https://platform.openai.com/account/api-keys.`,
  ],
  ['a masked token', `Incorrect API key provided: ${TOKEN.slice(0, 12)}${'*'.repeat(16)}${TOKEN.slice(-4)}.`],
  ['the query value URL-encoded in an echoed URL', `no route for /v1/x?api_key=${encodeURIComponent(QUERY)}&a=1`],
  ['the query value as sent', `bad api_key ${QUERY}`],
  // Stream error messages are cut at 500 characters: here 15 characters into the token.
  ['the token cut by a long message', `${'x'.repeat(484)} ${TOKEN}`],
];

function assertClean(text: string, where: string): void {
  for (const f of FORBIDDEN) assert.ok(!text.includes(f), `${where} shows ${f}:\n${text.slice(0, 600)}`);
}

before(async () => {
  up = await startScripted();
  proxy = await startApp((app) => {
    for (const k of kinds) {
      app.use(
        k.mount,
        aiProxy(
          llama2Config('chat', k.format, `${up.url}${k.path}`, {
            auth: { header_name: 'Authorization', header_value: HEADER, param_name: 'api_key', param_value: QUERY, param_location: 'query' },
            logging: { log_statistics: true, log_payloads: true, on_statistics: (s) => stats.push(s) },
          }),
        ),
      );
    }
  });
});
after(() => Promise.all([proxy.close(), up.close()]));

for (const k of kinds) {
  describe(`${k.name}: no secret reaches the client or the hook`, () => {
    for (const [how, message] of echoes) {
      test(`JSON error: ${how}`, async () => {
        up.handle((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(k.errorBody(message))));
        const r = await post(`${proxy.url}${k.mount}`, chatBody());
        assert.equal(r.status, 401);
        assertClean(r.text, 'the JSON error');
        assert.match(r.json.error.message, /\[redacted\]/);
      });

      test(`stream error frame: ${how}`, async () => {
        up.handle((_req, res) => {
          res.writeHead(200, { 'content-type': k.sse ? 'text/event-stream' : 'application/x-ndjson' });
          res.end(k.streamError(message));
        });
        const r = await post(`${proxy.url}${k.mount}`, chatBody({ stream: true }));
        assert.equal(r.status, 200);
        assert.match(r.text, /"error"/);
        assertClean(r.text, 'the stream');
      });
    }

    test('the excerpt of an unexpected stream line', async () => {
      up.handle((_req, res) => {
        res.writeHead(200, { 'content-type': k.sse ? 'text/event-stream' : 'application/x-ndjson' });
        // Excerpts are cut at 200 characters: here 15 characters into the token.
        const line = JSON.stringify({ unexpected: `${'y'.repeat(169)} ${TOKEN} ${QUERY}` });
        res.end(k.sse ? `data: ${line}\n\n` : `${line}\n`);
      });
      const r = await post(`${proxy.url}${k.mount}`, chatBody({ stream: true }));
      assert.match(r.text, /unexpected/);
      assertClean(r.text, 'the stream');
    });

    test('the excerpt of an unexpected 2xx JSON answer, and the statistics', async () => {
      up.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ unexpected: `${'y'.repeat(169)} ${TOKEN}` })));
      stats.length = 0;
      const r = await post(`${proxy.url}${k.mount}`, chatBody({ user: HEADER }));
      assert.equal(r.status, 502);
      assertClean(r.text, 'the 502');
      assertClean(JSON.stringify(stats), 'the statistics');
    });
  });
}

describe('openai: extra fields of a 2xx answer', () => {
  for (const streamed of [false, true]) {
    test(`${streamed ? 'streamed' : 'JSON'}: a field echoing the credential is redacted, for the client and response_payload`, async () => {
      const completion = {
        id: 'chatcmpl-1',
        object: streamed ? 'chat.completion.chunk' : 'chat.completion',
        created: 1,
        model: 'llama2',
        system_fingerprint: `auth=${HEADER}`,
        debug: { key: QUERY },
        choices: [
          streamed
            ? { index: 0, delta: { content: 'Hi' }, finish_reason: 'stop' }
            : { index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' },
        ],
      };
      up.handle((_req, res) => {
        if (streamed) res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${JSON.stringify(completion)}\n\ndata: [DONE]\n\n`);
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
      });
      stats.length = 0;
      const r = await post(`${proxy.url}/openai`, chatBody({ stream: streamed }));
      assert.equal(r.status, 200);
      assertClean(r.text, 'the answer');
      assert.match(r.text, /auth=\[redacted\]/);
      assert.equal(stats.length, 1);
      assertClean(JSON.stringify(stats), 'the statistics');
      if (!streamed) assert.match(stats[0]!.response_payload!, /auth=\[redacted\]/);
    });
  }
});

describe('log lines', () => {
  test('a log line carrying a configured secret (any route of the process) is redacted', () => {
    const lines: string[] = [];
    const original = createDebug.log;
    const enabled = createDebug.disable();
    createDebug.enable('express-ai-proxy*');
    createDebug.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
    try {
      log('upstream said: %s', `Incorrect API key provided: ${TOKEN}`);
      log('url %s', `/x?api_key=${encodeURIComponent(QUERY)}`);
      log.extend('stream')('%s', HEADER);
    } finally {
      createDebug.log = original;
      createDebug.disable();
      if (enabled) createDebug.enable(enabled);
    }
    assert.equal(lines.length, 3);
    for (const line of lines) assertClean(line, 'the log line');
  });
});
