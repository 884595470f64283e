import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../lib/stream/line-splitter';
import { SseParser, type SseMessage } from '../../lib/stream/sse-parser';
import { cuttings, fixture } from '../fixtures/stream-cuts';

function parseAll(packets: Buffer[]): SseMessage[] {
  const splitter = new LineSplitter();
  const parser = new SseParser();
  const out: SseMessage[] = [];
  const take = (lines: string[]): void => {
    for (const line of lines) {
      const m = parser.push(line);
      if (m) out.push(m);
    }
  };
  for (const p of packets) take(splitter.feed(p));
  take(splitter.end());
  const last = parser.end();
  if (last) out.push(last);
  return out;
}

function parseText(text: string): SseMessage[] {
  return parseAll([Buffer.from(text, 'utf8')]);
}

/** The data of each event, JSON-parsed unless it is the `[DONE]` sentinel. */
function payloads(messages: SseMessage[]): unknown[] {
  return messages.map((m) => (m.data === '[DONE]' ? m.data : JSON.parse(m.data)));
}

describe('SseParser on real upstream streams, cut at every offset', () => {
  const cases: Array<{ name: string; check: (values: unknown[]) => void }> = [
    {
      name: 'stream-tgi-generate.sse',
      check: (values) => {
        // `data:` without a space, a leading `:` comment, no [DONE].
        assert.equal(values.length, 3);
        assert.deepEqual(
          values.map((v) => (v as { token: { text: string } }).token.text),
          [' The', ' sum', ' is'],
        );
        assert.equal((values[2] as { generated_text: string }).generated_text, ' The sum is');
      },
    },
    {
      name: 'stream-tgi-utf8-crlf.sse',
      check: (values) => {
        assert.equal(values.length, 4);
        assert.equal(values.map((v) => (v as { token: { text: string } }).token.text).join(''), 'héllo 🦙');
      },
    },
    {
      name: 'stream-llamacpp-completion.sse',
      check: (values) => {
        assert.equal(values.length, 3);
        assert.deepEqual(
          values.map((v) => (v as { content: string }).content),
          [' The', ' sum', ''],
        );
        assert.equal((values[2] as { stop: boolean }).stop, true);
      },
    },
    {
      name: 'stream-openai-chat.sse',
      check: (values) => {
        assert.equal(values.length, 5);
        assert.equal(values[4], '[DONE]');
        assert.deepEqual((values[3] as { usage: unknown }).usage, { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29 });
      },
    },
    {
      name: 'stream-ollama-openai-chat.sse',
      check: (values) => {
        assert.equal(values.length, 5);
        assert.equal(values[4], '[DONE]');
      },
    },
  ];
  for (const { name, check } of cases) {
    test(name, () => {
      const bytes = fixture(name);
      const whole = parseAll([bytes]);
      check(payloads(whole));
      for (const { label, packets } of cuttings(bytes)) {
        assert.deepEqual(parseAll(packets), whole, label);
      }
    });
  }
});

describe('SseParser rules', () => {
  test('data: with and without one space; only one space is stripped', () => {
    assert.deepEqual(parseText('data:{"a":1}\n\ndata: {"a":2}\n\ndata:  x\n\n'), [{ data: '{"a":1}' }, { data: '{"a":2}' }, { data: ' x' }]);
  });

  test('several data lines join with \\n; CRLF line ends', () => {
    assert.deepEqual(parseText('data: {"a":\r\ndata: 1}\r\n\r\n'), [{ data: '{"a":\n1}' }]);
  });

  test('comments, keep-alives and blank lines with nothing pending are ignored', () => {
    assert.deepEqual(parseText(':\n\n: keep-alive\n\n\n\ndata: 1\n: in the middle\ndata: 2\n\n\n'), [{ data: '1\n2' }]);
  });

  test('event:, id:, retry: and unknown fields are not data; event is kept', () => {
    assert.deepEqual(parseText('id: 7\nretry: 1000\nfoo: bar\nevent: error\ndata: {"e":1}\n\ndata: 2\n\n'), [
      { data: '{"e":1}', event: 'error' },
      { data: '2' },
    ]);
  });

  test('an event with only event:/id: and no data is not dispatched', () => {
    assert.deepEqual(parseText('event: ping\nid: 1\n\ndata: x\n\n'), [{ data: 'x' }]);
  });

  test('a line "data" without colon is an empty data line', () => {
    assert.deepEqual(parseText('data\ndata: a\n\n'), [{ data: '\na' }]);
  });

  test('an event not closed by a blank line at the end of input is still dispatched', () => {
    assert.deepEqual(parseText('data: 1\n\ndata: 2'), [{ data: '1' }, { data: '2' }]);
    assert.deepEqual(parseText('data: 1\n\ndata: 2\n'), [{ data: '1' }, { data: '2' }]);
  });

  test('several frames in one packet, one frame over many packets', () => {
    const splitter = new LineSplitter();
    const parser = new SseParser();
    const feed = (s: string): SseMessage[] =>
      splitter
        .feed(Buffer.from(s))
        .map((l) => parser.push(l))
        .filter((m): m is SseMessage => m !== undefined);
    assert.deepEqual(feed('data: a\n\ndata: b\n\ndata: c'), [{ data: 'a' }, { data: 'b' }]);
    assert.deepEqual(feed('c'), []);
    assert.deepEqual(feed('\n'), []);
    assert.deepEqual(feed('\n'), [{ data: 'cc' }]);
  });
});
