import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openAiErrorKind, statusFromCode } from '../../lib/upstream-error-kinds';

describe('openAiErrorKind: one mapping for JSON errors and stream error events', () => {
  const cases: Array<[string, Parameters<typeof openAiErrorKind>[0], ReturnType<typeof openAiErrorKind>]> = [
    [
      'llama.cpp context overflow by type',
      { status: 400, message: 'request (608 tokens) exceeds …', type: 'exceed_context_size_error', code: null },
      { type: 'invalid_request_error', code: 'context_length_exceeded' },
    ],
    [
      'llama.cpp context full mid-stream (no status)',
      { status: 500, message: 'Context size has been exceeded.', type: 'server_error', code: null },
      { type: 'invalid_request_error', code: 'context_length_exceeded' },
    ],
    [
      'OpenAI context overflow keeps its code',
      { status: 400, message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' },
      { type: 'invalid_request_error', code: 'context_length_exceeded' },
    ],
    ['a 500 with or without status: api_error', { status: 500, message: 'boom', type: 'server_error', code: null }, { type: 'api_error', code: null }],
    ['an in-stream server_error without status: api_error', { message: 'boom', type: 'server_error', code: null }, { type: 'api_error', code: null }],
    ['an in-stream error of unknown kind: api_error', { message: 'boom', type: 'weird', code: null }, { type: 'api_error', code: null }],
    [
      'TGI validation in a stream reads as its HTTP 422',
      { message: 'Input validation error: `top_p` must be > 0.0', code: 'validation' },
      { type: 'invalid_request_error', code: 'validation' },
    ],
    [
      'a number as a string is never a code',
      { status: 404, message: 'File Not Found', type: 'not_found_error', code: '404' },
      { type: 'not_found_error', code: null },
    ],
    [
      'an OpenAI string code is kept',
      { status: 429, message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
      { type: 'rate_limit_error', code: 'rate_limit_exceeded' },
    ],
    ['llama.cpp loading model: 503', { message: 'Loading model', type: 'unavailable_error', code: null }, { type: 'api_error', code: null }],
  ];
  for (const [name, facts, expected] of cases) test(name, () => assert.deepEqual(openAiErrorKind(facts), expected));

  test('only the start of a huge message is looked at', () => {
    const t = performance.now();
    const kind = openAiErrorKind({ status: 500, message: `${'x'.repeat(5_000_000)} maximum context length`, code: null });
    assert.equal(kind.code, null);
    assert.ok(performance.now() - t < 200);
  });

  test('statusFromCode reads integer and three-digit codes only', () => {
    assert.equal(statusFromCode(400), 400);
    assert.equal(statusFromCode('503'), 503);
    assert.equal(statusFromCode('validation'), undefined);
    assert.equal(statusFromCode(42), undefined);
    assert.equal(statusFromCode(4000), undefined);
  });
});
