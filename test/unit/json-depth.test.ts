import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../lib/request-body/json-depth';

const nest = (depth: number, open: string, close: string, inner = '1') => JSON.parse(open.repeat(depth) + inner + close.repeat(depth));

describe('exceedsJsonDepth', () => {
  test('scalars and flat values are depth 0 / 1', () => {
    for (const v of [1, 'x', null, true, [], {}, [1, 2], { a: 1 }]) assert.equal(exceedsJsonDepth(v, 1), false);
    assert.equal(exceedsJsonDepth([[]], 1), true);
  });

  test(`exactly ${MAX_JSON_DEPTH} levels pass, one more does not (arrays)`, () => {
    assert.equal(exceedsJsonDepth(nest(MAX_JSON_DEPTH, '[', ']')), false);
    assert.equal(exceedsJsonDepth(nest(MAX_JSON_DEPTH + 1, '[', ']')), true);
  });

  test('objects count like arrays', () => {
    assert.equal(exceedsJsonDepth(nest(MAX_JSON_DEPTH, '{"a":', '}')), false);
    assert.equal(exceedsJsonDepth(nest(MAX_JSON_DEPTH + 1, '{"a":', '}')), true);
  });

  test('the deep branch is found after shallow siblings', () => {
    const body = { messages: [{ role: 'user', content: 'hi' }], tools: [1, 2, { deep: nest(MAX_JSON_DEPTH, '[', ']') }] };
    assert.equal(exceedsJsonDepth(body), true);
  });

  test('a 100,000-deep array does not exhaust the stack', () => {
    assert.equal(exceedsJsonDepth(nest(100_000, '[', ']')), true);
  });

  test('a cyclic object (a parser in front may hand one over) ends', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    assert.equal(exceedsJsonDepth(a), true);
  });

  test('a chat body is far below the limit', () => {
    assert.equal(exceedsJsonDepth({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }, 5), false);
  });
});
