import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../lib/stream/line-splitter';
import { UpstreamFormatError } from '../../lib/errors';
import { cuttings, fixture } from '../fixtures/stream-cuts';

function splitAll(packets: Buffer[], splitter = new LineSplitter()): string[] {
  const lines: string[] = [];
  for (const p of packets) lines.push(...splitter.feed(p));
  lines.push(...splitter.end());
  return lines;
}

/** The lines of a text as a reference, the plain way. */
function reference(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const FIXTURES = [
  'stream-ollama-chat.ndjson',
  'stream-ollama-generate.ndjson',
  'stream-ollama-error.ndjson',
  'stream-ollama-chat-utf8-crlf.ndjson',
  'stream-tgi-generate.sse',
  'stream-tgi-utf8-crlf.sse',
  'stream-llamacpp-completion.sse',
  'stream-openai-chat.sse',
  'stream-ollama-openai-chat.sse',
];

describe('LineSplitter', () => {
  for (const name of FIXTURES) {
    test(`${name}: same lines however the bytes are cut`, () => {
      const bytes = fixture(name);
      const expected = reference(bytes.toString('utf8'));
      assert.ok(expected.length >= 3);
      for (const { label, packets } of cuttings(bytes)) {
        assert.deepEqual(splitAll(packets), expected, label);
      }
    });
  }

  test('CRLF fixture yields lines without \\r, with the multi-byte characters intact', () => {
    const lines = splitAll([fixture('stream-tgi-utf8-crlf.sse')]);
    assert.ok(lines.every((l) => !l.includes('\r')));
    assert.ok(lines.some((l) => l.includes('"generated_text":"héllo 🦙"')));
  });

  test('a 4-byte character cut after each of its bytes', () => {
    const bytes = Buffer.from('a🦙b\nhé\n', 'utf8');
    for (let i = 1; i < bytes.length; i++) {
      for (let j = i + 1; j < bytes.length; j++) {
        const packets = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
        assert.deepEqual(splitAll(packets), ['a🦙b', 'hé'], `cuts ${i},${j}`);
      }
    }
  });

  test('\\r\\n cut between two packets gives one line end, not an empty line', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.feed(Buffer.from('data: 1\r')), []);
    assert.deepEqual(s.feed(Buffer.from('\n\r')), ['data: 1']);
    assert.deepEqual(s.feed(Buffer.from('\ndata: 2\r\n')), ['', 'data: 2']);
    assert.deepEqual(s.end(), []);
  });

  test('several lines in one packet and one line over many packets', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.feed(Buffer.from('a\nb\n\nc')), ['a', 'b', '']);
    assert.deepEqual(s.feed(Buffer.from('c')), []);
    assert.deepEqual(s.feed(Buffer.from('c')), []);
    assert.deepEqual(s.feed(Buffer.from('\nd')), ['ccc']);
    assert.deepEqual(s.end(), ['d']);
  });

  test('end() returns an unterminated last line, without a trailing \\r', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.feed(Buffer.from('x\nlast\r')), ['x']);
    assert.deepEqual(s.end(), ['last']);
  });

  test('a leading UTF-8 byte order mark is dropped, even cut in two', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\n')]);
    assert.deepEqual(splitAll([bytes.subarray(0, 2), bytes.subarray(2)]), ['{"a":1}']);
  });

  test('an unfinished line beyond the cap throws a clear UpstreamFormatError', () => {
    const s = new LineSplitter(1000);
    assert.deepEqual(s.feed(Buffer.alloc(600, 'x')), []);
    assert.throws(
      () => s.feed(Buffer.alloc(600, 'y')),
      (err: unknown) => {
        assert.ok(err instanceof UpstreamFormatError);
        assert.match(err.message, /line longer than 1000 characters/);
        return true;
      },
    );
  });

  test('a complete line beyond the cap throws too; lines at the cap pass', () => {
    const ok = new LineSplitter(10);
    assert.deepEqual(ok.feed(Buffer.from('0123456789\n')), ['0123456789']);
    const tooLong = new LineSplitter(10);
    assert.throws(() => tooLong.feed(Buffer.from('a\n0123456789X\n')), UpstreamFormatError);
  });

  test('default cap is large: a 1 MiB line passes in 64 KiB packets', () => {
    const line = 'z'.repeat(1024 * 1024);
    const bytes = Buffer.from(`${line}\nnext\n`);
    const packets: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 65536) packets.push(bytes.subarray(i, i + 65536));
    const lines = splitAll(packets);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.length, line.length);
    assert.equal(lines[1], 'next');
  });
});
