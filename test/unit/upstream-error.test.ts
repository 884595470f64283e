import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProxyError } from '../../lib/errors';
import { redact, upstreamError } from '../../lib/upstream-error';

const JSON_CT = 'application/json; charset=utf-8';

/** The wire-examples copies the formats tests use, read as the upstream sent them. */
function fixture(name: string): string {
  return readFileSync(join(__dirname, '..', 'fixtures', `formats-${name}`), 'utf8');
}

/** What reaches the client: status, OpenAI type and code, message. */
function seen(err: ProxyError) {
  assert.ok(err instanceof ProxyError);
  return { status: err.status, type: err.type, code: err.code, message: err.message };
}

describe("upstreamError: the upstream's own message in OpenAI's shape", () => {
  const cases: Array<[string, number, string | undefined, string, ReturnType<typeof seen>]> = [
    [
      'Ollama {"error": "..."} (model not pulled)',
      404,
      JSON_CT,
      '{"error":"model \'llama2\' not found"}',
      { status: 404, type: 'invalid_request_error', code: 'model_not_found', message: "model 'llama2' not found" },
    ],
    [
      'TGI {"error", "error_type"}: error_type becomes the code',
      422,
      'application/json',
      fixture('tgi-error.json'),
      { status: 422, type: 'invalid_request_error', code: 'validation', message: 'Input validation error: `top_p` must be > 0.0 and < 1.0' },
    ],
    [
      'TGI overloaded',
      429,
      'application/json',
      '{"error":"Model is overloaded","error_type":"overloaded"}',
      { status: 429, type: 'rate_limit_error', code: 'server_overloaded', message: 'Model is overloaded' },
    ],
    [
      'llama.cpp {"error": {code: <int>, message, type}}: the integer is a status, never a code',
      400,
      'application/json; charset=utf-8',
      fixture('llamacpp-error.json'),
      { status: 400, type: 'invalid_request_error', code: null, message: "[json.exception.out_of_range.403] key 'prompt' not found" },
    ],
    [
      'llama.cpp context overflow (as the real server answers it)',
      400,
      'application/json; charset=utf-8',
      '{"error":{"code":400,"message":"request (608 tokens) exceeds the available context size (512 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":608,"n_ctx":512}}',
      {
        status: 400,
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
        message: 'request (608 tokens) exceeds the available context size (512 tokens), try increasing it',
      },
    ],
    [
      'TGI context overflow',
      422,
      'application/json',
      '{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`","error_type":"validation"}',
      {
        status: 422,
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
        message: 'Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`',
      },
    ],
    [
      'vLLM context overflow (integer code)',
      400,
      'application/json',
      '{"object":"error","message":"This model\'s maximum context length is 4096 tokens. However, you requested 5000 tokens.","type":"BadRequestError","param":null,"code":400}',
      {
        status: 400,
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
        message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
      },
    ],
    [
      'Ollama busy',
      503,
      'application/json',
      '{"error":"server busy, please try again.  maximum pending requests exceeded"}',
      { status: 503, type: 'api_error', code: 'server_overloaded', message: 'server busy, please try again.  maximum pending requests exceeded' },
    ],
    [
      'OpenAI {"error": {message, type, param, code}}',
      404,
      JSON_CT,
      fixture('openai-error.json'),
      { status: 404, type: 'invalid_request_error', code: 'model_not_found', message: 'The model `llama-9` does not exist or you do not have access to it.' },
    ],
    [
      "Ollama's OpenAI layer (code null)",
      400,
      JSON_CT,
      '{"error":{"message":"invalid message format","type":"invalid_request_error","param":null,"code":null}}',
      { status: 400, type: 'invalid_request_error', code: null, message: 'invalid message format' },
    ],
    [
      'HF Inference API cold model (503, extra fields)',
      503,
      'application/json',
      '{"error":"Model meta-llama/Llama-2-7b-chat-hf is currently loading","estimated_time":20.0}',
      { status: 503, type: 'api_error', code: null, message: 'Model meta-llama/Llama-2-7b-chat-hf is currently loading' },
    ],
    [
      '{"message": "..."}',
      429,
      'application/json',
      '{"message":"Too many requests"}',
      { status: 429, type: 'rate_limit_error', code: null, message: 'Too many requests' },
    ],
    [
      'FastAPI {"detail": "..."}',
      401,
      'application/json',
      '{"detail":"Not authenticated"}',
      { status: 401, type: 'authentication_error', code: null, message: 'Not authenticated' },
    ],
    [
      'a JSON array of errors: the first',
      500,
      'application/json',
      '[{"error":"CUDA out of memory"}]',
      { status: 500, type: 'api_error', code: null, message: 'CUDA out of memory' },
    ],
    [
      'JSON of an unknown shape, as JSON text',
      500,
      'application/json',
      '{"status":"failed","reason":42}',
      { status: 500, type: 'api_error', code: null, message: '{"status":"failed","reason":42}' },
    ],
    ['a JSON string', 500, 'application/json', '"boom"', { status: 500, type: 'api_error', code: null, message: 'boom' }],
    [
      'JSON content type but not JSON: as text',
      502,
      'application/json',
      'upstream connect error',
      { status: 502, type: 'api_error', code: null, message: 'upstream connect error' },
    ],
    [
      'plain text, whitespace collapsed',
      500,
      'text/plain; charset=utf-8',
      'Internal Server Error\n\n  runtime: out of memory\n',
      { status: 500, type: 'api_error', code: null, message: 'Internal Server Error runtime: out of memory' },
    ],
    ['plain text without a content type', 403, undefined, 'Forbidden', { status: 403, type: 'permission_error', code: null, message: 'Forbidden' }],
    [
      'an HTML page: only its title',
      502,
      'text/html',
      '<!DOCTYPE html>\n<html><head><title> 502 Bad Gateway </title><style>body{}</style></head><body><h1>502 Bad Gateway</h1><hr><center>nginx/1.25.3</center><script>alert(1)</script></body></html>',
      { status: 502, type: 'api_error', code: null, message: 'the upstream answered with an HTML page: 502 Bad Gateway' },
    ],
    [
      'an HTML page without a title',
      503,
      'text/html; charset=utf-8',
      '<html><body><h1>Service Unavailable</h1><p>try later</p></body></html>',
      { status: 503, type: 'api_error', code: null, message: 'the upstream answered with an HTML error page' },
    ],
    [
      'an HTML page sent without a content type',
      504,
      undefined,
      '<html><head><title>504 Gateway Time-out</title></head><body></body></html>',
      { status: 504, type: 'api_error', code: null, message: 'the upstream answered with an HTML page: 504 Gateway Time-out' },
    ],
    [
      'an HTML page labelled as JSON',
      502,
      'application/json',
      '<!doctype html><html><head><title>Bad gateway</title></head></html>',
      { status: 502, type: 'api_error', code: null, message: 'the upstream answered with an HTML page: Bad gateway' },
    ],
    ['an empty body', 500, undefined, '', { status: 500, type: 'api_error', code: null, message: 'the upstream answered HTTP 500 with an empty body' }],
    [
      'a blank JSON body',
      503,
      'application/json',
      ' \n',
      { status: 503, type: 'api_error', code: null, message: 'the upstream answered HTTP 503 with an empty body' },
    ],
    [
      'an empty JSON error string',
      400,
      'application/json',
      '{"error":""}',
      { status: 400, type: 'invalid_request_error', code: null, message: 'the upstream answered HTTP 400 with an empty body' },
    ],
  ];
  for (const [name, status, contentType, body, expected] of cases) {
    test(name, () => {
      assert.deepEqual(seen(upstreamError(status, contentType, body, [])), expected);
    });
  }

  test('an HTML page never reaches the client raw', () => {
    const page = '<html><head><title>Oops</title></head><body><pre>Traceback at /srv/app.py line 12</pre><script>x()</script></body></html>';
    const { message } = upstreamError(500, 'text/html', page, []);
    assert.doesNotMatch(message, /<|Traceback|script/);
  });

  test('a long message is cut at 1000 characters and marked', () => {
    const { message } = upstreamError(500, 'text/plain', 'x'.repeat(5000), []);
    assert.equal(message, `${'x'.repeat(1000)}…`);
  });
});

describe('upstreamError: status → OpenAI error type', () => {
  const cases: Array<[number, string]> = [
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [409, 'invalid_request_error'],
    [413, 'invalid_request_error'],
    [418, 'invalid_request_error'],
    [422, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [503, 'api_error'],
    [504, 'api_error'],
  ];
  for (const [status, type] of cases) {
    test(`${status} → ${type}, same status`, () => {
      const err = upstreamError(status, 'text/plain', 'nope', []);
      assert.deepEqual([err.status, err.type], [status, type]);
    });
  }
});

describe('upstreamError: configured secrets are redacted', () => {
  const HEADER = 'Bearer hf_aBcDeF123456';
  const PARAM = 'k3y-9876';
  const cases: Array<[string, number, string, string, string]> = [
    [
      'in a JSON error string',
      401,
      'application/json',
      `{"error":"Authorization header '${HEADER}' is invalid"}`,
      "Authorization header '[redacted]' is invalid",
    ],
    [
      'in an OpenAI error message',
      401,
      'application/json',
      `{"error":{"message":"Incorrect API key provided: ${PARAM}","type":"invalid_request_error","code":"invalid_api_key"}}`,
      'Incorrect API key provided: [redacted]',
    ],
    [
      'in plain text, several times, both secrets',
      403,
      'text/plain',
      `denied ${HEADER} (${PARAM}); again ${PARAM}`,
      'denied [redacted] ([redacted]); again [redacted]',
    ],
    [
      'in an HTML title',
      401,
      'text/html',
      `<html><head><title>401 for ${PARAM}</title></head></html>`,
      'the upstream answered with an HTML page: 401 for [redacted]',
    ],
    ['in JSON of an unknown shape', 400, 'application/json', `{"received":{"key":"${PARAM}"}}`, '{"received":{"key":"[redacted]"}}'],
  ];
  for (const [name, status, contentType, body, message] of cases) {
    test(name, () => {
      assert.equal(upstreamError(status, contentType, body, [HEADER, PARAM]).message, message);
    });
  }

  test('a secret beyond the cut is not half-shown', () => {
    const body = `${'a'.repeat(990)}${PARAM}`;
    const { message } = upstreamError(500, 'text/plain', body, [PARAM]);
    assert.equal(message, `${'a'.repeat(990)}[redacted]`);
  });
});

describe('redact', () => {
  const cases: Array<[string, string[], string]> = [
    ['no secrets configured', [], 'no secrets configured'],
    ['token tok-1 and tok-1', ['tok-1'], 'token [redacted] and [redacted]'],
    ['a.b*c (regex characters are literal)', ['a.b*c'], '[redacted] (regex characters are literal)'],
    ['abc', ['xyz'], 'abc'],
  ];
  for (const [text, secrets, expected] of cases) {
    test(JSON.stringify(text), () => {
      assert.equal(redact(text, secrets), expected);
    });
  }
});
