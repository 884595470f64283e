/**
 * Property-based tests (fast-check): arbitrary byte streams, cut at arbitrary places, fed to every
 * stream parser. Each gives a valid result or its typed error (UpstreamFormatError), never another
 * throw; what it holds stays under its cap; the translator, for every upstream format, always
 * produces well-formed OpenAI SSE ending in exactly one terminal frame.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UpstreamFormatError } from '../../lib/errors';
import { getFormat } from '../../lib/formats';
import type { FormatContext, LlmRequest } from '../../lib/formats/format';
import { LineSplitter } from '../../lib/stream/line-splitter';
import { NdjsonParser } from '../../lib/stream/ndjson-parser';
import { SseParser } from '../../lib/stream/sse-parser';
import { StreamTranslator } from '../../lib/stream/stream-translator';
import type { Llama2Format } from '../../lib/types';
import { fixture } from '../fixtures/stream-cuts';

const RUNS = { numRuns: 300 };

/** Bytes cut into packets at arbitrary places. */
function cut(bytes: Uint8Array, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const packets: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    packets.push(Buffer.from(bytes.subarray(from, c)));
    from = c;
  }
  return packets;
}

/** Text with many line ends, colons, SSE field names and multi-byte characters: the interesting bytes. */
const streamText = fc
  .array(fc.constantFrom('data:', 'data: ', 'event: error', ':', '\n', '\r\n', '\r', '\n\n', '{"a":1}', '[DONE]', 'é', '€', '😀', ' ', 'x', '"', '\\'), {
    maxLength: 200,
  })
  .map((parts) => Buffer.from(parts.join(''), 'utf8'));
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 600 }), streamText);
const cuts = fc.array(fc.nat(), { maxLength: 12 });

/** Runs `fn`, allowing only an UpstreamFormatError. Returns false when it threw one. */
function typed(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    assert.ok(err instanceof UpstreamFormatError, `unexpected ${String(err)}`);
    return false;
  }
}

describe('LineSplitter: arbitrary bytes, arbitrary cuts', () => {
  test('lines within the cap or UpstreamFormatError; the same lines however the bytes are cut', () => {
    fc.assert(
      fc.property(anyBytes, cuts, fc.integer({ min: 1, max: 64 }), (bytes, at, max) => {
        const whole: string[] = [];
        const wholeOk = typed(() => {
          const s = new LineSplitter(max);
          whole.push(...s.feed(Buffer.from(bytes)), ...s.end());
        });
        const pieces: string[] = [];
        const piecesOk = typed(() => {
          const s = new LineSplitter(max);
          for (const p of cut(bytes, at)) pieces.push(...s.feed(p));
          pieces.push(...s.end());
        });
        for (const line of [...whole, ...pieces]) assert.ok(line.length <= max && !line.includes('\n'));
        if (wholeOk && piecesOk) assert.deepEqual(pieces, whole);
      }),
      RUNS,
    );
  });
});

describe('SseParser and NdjsonParser: arbitrary lines', () => {
  test('SSE events within the caps or UpstreamFormatError, never another throw', () => {
    fc.assert(
      fc.property(anyBytes, fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 8 }), (bytes, maxSize, maxLines) => {
        const parser = new SseParser(maxSize, maxLines);
        const lines = Buffer.from(bytes).toString('utf8').split(/\r?\n/);
        for (const line of lines) {
          typed(() => {
            const m = parser.push(line);
            if (m) {
              assert.ok(m.data.length <= maxSize);
              assert.ok(m.data.split('\n').length <= maxLines);
            }
          });
        }
        typed(() => void parser.end());
      }),
      RUNS,
    );
  });

  test('an event of endless data lines is refused at the cap, whatever the line sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 400 }), (values) => {
        const parser = new SseParser(256, 16);
        let held = 0;
        for (const v of values) {
          if (!typed(() => void parser.push(`data:${v.replace(/[\r\n]/g, '')}`))) return;
          held++;
        }
        assert.ok(held <= 16);
      }),
      RUNS,
    );
  });

  test('NDJSON: every non-blank line is a message, never a throw', () => {
    fc.assert(
      fc.property(fc.string(), (line) => {
        const parser = new NdjsonParser();
        const m = parser.push(line);
        assert.equal(m, line.trim() === '' ? undefined : line);
      }),
    );
  });
});

interface Setup {
  label: string;
  format: Llama2Format;
  rawDialect: 'tgi' | 'llamacpp';
  fixture: string;
}

const setups: Setup[] = [
  { label: 'ollama', format: 'ollama', rawDialect: 'tgi', fixture: 'stream-ollama-chat.ndjson' },
  { label: 'raw TGI', format: 'raw', rawDialect: 'tgi', fixture: 'stream-tgi-generate.sse' },
  { label: 'raw llama.cpp', format: 'raw', rawDialect: 'llamacpp', fixture: 'stream-llamacpp-completion.sse' },
  { label: 'openai', format: 'openai', rawDialect: 'tgi', fixture: 'stream-openai-chat.sse' },
];

function translator(s: Setup, kind: 'chat' | 'completions', includeUsage: boolean): StreamTranslator {
  const body: Record<string, unknown> = { model: 'llama2', stream: true };
  const req: LlmRequest =
    kind === 'chat'
      ? { kind, model: 'llama2', messages: [{ role: 'user', content: 'hi' }], stream: true, includeUsage, body }
      : { kind, model: 'llama2', prompt: 'hi', stream: true, includeUsage, body };
  const ctx: FormatContext = { routeType: kind === 'chat' ? 'llm/v1/chat' : 'llm/v1/completions', format: s.format, rawDialect: s.rawDialect };
  return new StreamTranslator(getFormat(s.format), req, ctx, { id: 'chatcmpl-p', created: 1, model: 'llama2' });
}

/** Checks the client-visible output: `data: <json or [DONE]>\n\n` frames, one terminal frame, last. */
function assertWellFormed(text: string): void {
  assert.ok(text.endsWith('\n\n'), 'ends with a blank line');
  const frames = text.slice(0, -2).split('\n\n');
  frames.forEach((frame, i) => {
    assert.ok(frame.startsWith('data: '), frame);
    const data = frame.slice(6);
    const terminal = data === '[DONE]' || 'error' in (JSON.parse(data) as object);
    assert.equal(terminal, i === frames.length - 1, `terminal frame at ${i} of ${frames.length}`);
  });
}

describe('StreamTranslator: arbitrary upstream bytes for every format', () => {
  for (const s of setups) {
    const valid = fixture(s.fixture);
    // A real stream with arbitrary bytes spliced in, or cut short, or pure noise.
    const upstream = fc.oneof(
      anyBytes,
      fc.tuple(fc.nat(valid.length), anyBytes).map(([at, noise]) => Buffer.concat([valid.subarray(0, at), noise, valid.subarray(at)])),
      fc.nat(valid.length).map((at) => valid.subarray(0, at)),
      fc.constant(valid),
    );
    test(`${s.label}: one terminal frame, well-formed SSE, never a throw`, () => {
      fc.assert(
        fc.property(upstream, cuts, fc.constantFrom('chat' as const, 'completions' as const), fc.boolean(), (bytes, at, kind, usage) => {
          const t = translator(s, kind, usage);
          let out = '';
          for (const p of cut(bytes, at)) out += t.feed(p);
          out += t.end();
          assertWellFormed(out);
          assert.ok(t.outcome !== undefined);
          // Output stays proportional to input (no amplification beyond the frame envelope).
          assert.ok(out.length <= 2000 + 40 * bytes.length, `${out.length} characters out of ${bytes.length} bytes`);
        }),
        RUNS,
      );
    });

    test(`${s.label}: the same answer however the valid stream is cut`, () => {
      const whole = (() => {
        const t = translator(s, 'chat', false);
        return t.feed(valid) + t.end();
      })();
      fc.assert(
        fc.property(cuts, (at) => {
          const t = translator(s, 'chat', false);
          let out = '';
          for (const p of cut(valid, at)) out += t.feed(p);
          assert.equal(out + t.end(), whole);
        }),
        RUNS,
      );
    });
  }
});
