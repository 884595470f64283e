import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { MAX_HEADER_VALUE_LENGTH, safeHeaderValue } from '../../lib/headers/header-value';
import { modelHeaderValue } from '../../lib/route-parts';

describe('safeHeaderValue: anything from outside becomes a value Node accepts and clients can read', () => {
  test('printable ASCII passes as is', () => {
    assert.equal(safeHeaderValue('llama2/llama2:13b-chat q4_K_M'), 'llama2/llama2:13b-chat q4_K_M');
  });

  const encoded: Array<[string, string, string]> = [
    ['a character beyond Latin-1', 'llama2/☃', 'llama2/%E2%98%83'],
    ['Latin-1 (Node would accept it, clients read it as mojibake)', 'é', '%C3%A9'],
    ['CR LF (header injection)', 'a\r\nSet-Cookie: x=1', 'a%0D%0ASet-Cookie: x=1'],
    ['NUL', 'a\0b', 'a%00b'],
    ['a tab and DEL', 'a\tb\x7f', 'a%09b%7F'],
    ['a percent sign next to an escape (so the value stays unambiguous)', '%☃', '%25%E2%98%83'],
    ['a lone surrogate (encodeURIComponent would throw)', 'a\ud800b', 'a%EF%BF%BDb'],
    ['an emoji (one code point, two UTF-16 units)', '🦙', '%F0%9F%A6%99'],
  ];
  for (const [name, input, output] of encoded) {
    test(name, () => {
      assert.equal(safeHeaderValue(input), output);
      assert.doesNotThrow(() => validateHeaderValue('x-test', safeHeaderValue(input)));
    });
  }

  test(`a long value is cut to ${MAX_HEADER_VALUE_LENGTH} characters`, () => {
    assert.equal(safeHeaderValue('m'.repeat(20_000)), 'm'.repeat(MAX_HEADER_VALUE_LENGTH));
  });

  test('the cut never splits an escape', () => {
    const out = safeHeaderValue('☃'.repeat(200), 20);
    assert.equal(out, '%E2%98%83'.repeat(2));
  });

  test('X-LLM-Model is built through it', () => {
    assert.equal(modelHeaderValue('a\nb'), 'llama2/a%0Ab');
    assert.equal(modelHeaderValue('x'.repeat(1000)).length, MAX_HEADER_VALUE_LENGTH);
  });
});
