import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ollamaFastJson } from '../../lib/formats/ollama-fast-line';

/** What a full JSON.parse reads as the text of an ordinary (done:false) line. */
function parsedText(line: string, chat: boolean): string | undefined {
  const v = JSON.parse(line);
  if (v.done !== false) return undefined;
  return chat ? v.message?.content : v.response;
}

const chatLine = (content: string, model = 'llama2') =>
  `{"model":${JSON.stringify(model)},"created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":${JSON.stringify(content)}},"done":false}`;
const generateLine = (response: string) => `{"model":"llama2","created_at":"2023-08-04T08:52:19Z","response":${JSON.stringify(response)},"done":false}`;

const TEXTS = [
  'The',
  ' sky',
  '',
  'a "quoted" word',
  'back\\slash',
  'ends with a backslash \\',
  'line\nbreak\ttab',
  'héllo 🦙',
  '\u0001control',
  '"},"done":false}',
  'x\\"},"done":false}',
  '</s>',
];

describe('ollamaFastJson reads ordinary lines exactly as JSON.parse and JSON.stringify do', () => {
  for (const text of TEXTS) {
    test(`chat ${JSON.stringify(text)}`, () => {
      const line = chatLine(text);
      assert.equal(ollamaFastJson(line, true), JSON.stringify(text));
      assert.equal(ollamaFastJson(line, true), JSON.stringify(parsedText(line, true)));
    });
    test(`generate ${JSON.stringify(text)}`, () => {
      const line = generateLine(text);
      assert.equal(ollamaFastJson(line, false), JSON.stringify(text));
    });
  }
  test('any text, written as Go writes it (or as JSON.stringify does), comes out as JSON.stringify writes it', () => {
    // Go's json.Marshal also escapes <, > and & as \u003c, \u003e, \u0026.
    const goQuote = (text: string) => JSON.stringify(text).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.boolean(), fc.boolean(), (text, chat, go) => {
        const literal = go ? goQuote(text) : JSON.stringify(text);
        const line = chat
          ? `{"model":"m","created_at":"t","message":{"role":"assistant","content":${literal}},"done":false}`
          : `{"model":"m","created_at":"t","response":${literal},"done":false}`;
        assert.equal(ollamaFastJson(line, chat), JSON.stringify(text));
      }),
      { numRuns: 2000 },
    );
  });
  test('escapes Go adds (\\u003c for <) come out as JSON.stringify writes them', () => {
    const line = '{"model":"m","created_at":"t","response":"\\u003cb\\u003e \\u0026","done":false}';
    assert.equal(ollamaFastJson(line, false), '"<b> &"');
  });
});

describe('ollamaFastJson leaves every other line to the full parser', () => {
  const others: Array<[string, string, boolean]> = [
    [
      'the final line',
      '{"model":"llama2","created_at":"2023-08-04T19:22:45Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":2}',
      true,
    ],
    ['an error line', '{"error":"an error was encountered while running the model"}', true],
    [
      'extra message fields (images)',
      '{"model":"llama3.2","created_at":"2023-08-04T08:52:19Z","message":{"role":"assistant","content":"The","images":null},"done":false}',
      true,
    ],
    ['thinking before content', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a","thinking":"b"},"done":false}', true],
    ['another role', '{"model":"m","created_at":"t","message":{"role":"tool","content":"a"},"done":false}', true],
    ['a generate line read as chat', generateLine('x'), true],
    ['a chat line read as generate', chatLine('x'), false],
    ['an escaped model name', chatLine('x', 'we\\"ird'), true],
    ['a hidden second field in the content', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a","role":"b"},"done":false}', true],
    ['escapes hiding a second field', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\\n","x":"b"},"done":false}', true],
    ['a content ending in an escaped quote', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\\"},"done":false}', true],
    ['a raw control character', '{"model":"m","created_at":"t","response":"a\u0001b","done":false}', false],
    ['a backslash in created_at', '{"model":"m","created_at":"t\\u0030","response":"a","done":false}', false],
    ['a bare quote in the content', '{"model":"m","created_at":"t","response":"a"b","done":false}', false],
    ['a raw control character at the end', '{"model":"m","created_at":"t","response":"ab\u001f","done":false}', false],
    ['whitespace between fields', '{"model": "m","created_at":"t","response":"a","done":false}', false],
  ];
  for (const [name, line, chat] of others) {
    test(name, () => assert.equal(ollamaFastJson(line, chat), undefined));
  }
});
