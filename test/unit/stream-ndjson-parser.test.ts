import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../lib/stream/line-splitter';
import { NdjsonParser } from '../../lib/stream/ndjson-parser';
import { cuttings, fixture } from '../fixtures/stream-cuts';

function parseAll(packets: Buffer[]): unknown[] {
  const splitter = new LineSplitter();
  const parser = new NdjsonParser();
  const out: unknown[] = [];
  const take = (lines: string[]): void => {
    for (const line of lines) {
      const m = parser.push(line);
      if (m !== undefined) out.push(JSON.parse(m));
    }
  };
  for (const p of packets) take(splitter.feed(p));
  take(splitter.end());
  return out;
}

interface OllamaLine {
  message?: { content: string };
  response?: string;
  done?: boolean;
  error?: string;
}

describe('NdjsonParser on real Ollama streams, cut at every offset', () => {
  const cases: Array<{ name: string; text: string; last: Partial<OllamaLine> }> = [
    { name: 'stream-ollama-chat.ndjson', text: 'The sky', last: { done: true } },
    { name: 'stream-ollama-generate.ndjson', text: 'The sky', last: { done: true } },
    { name: 'stream-ollama-error.ndjson', text: ' Yes.Ican', last: { error: 'an error was encountered while running the model' } },
    // CRLF, a blank and a whitespace-only line, multi-byte characters.
    { name: 'stream-ollama-chat-utf8-crlf.ndjson', text: 'héllo 🦙', last: { done: true } },
  ];
  for (const { name, text, last } of cases) {
    test(name, () => {
      const bytes = fixture(name);
      const whole = parseAll([bytes]) as OllamaLine[];
      assert.equal(whole.map((l) => l.message?.content ?? l.response ?? '').join(''), text);
      const final = whole[whole.length - 1] as Record<string, unknown>;
      for (const [k, v] of Object.entries(last)) assert.deepEqual(final[k], v);
      for (const { label, packets } of cuttings(bytes)) {
        assert.deepEqual(parseAll(packets), whole, label);
      }
    });
  }

  test('blank and whitespace-only lines are skipped; an unterminated last line counts', () => {
    assert.deepEqual(parseAll([Buffer.from('\n  \t\n{"a":1}\r\n\r\n{"b":2}')]), [{ a: 1 }, { b: 2 }]);
  });
});
