import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getFormat } from '../../lib/formats';
import type { FormatContext, LlmRequest } from '../../lib/formats/format';
import type { Llama2Format } from '../../lib/types';
import { StreamTranslator } from '../../lib/stream/stream-translator';
import { cuttings, fixture } from '../fixtures/stream-cuts';

const META = { id: 'chatcmpl-test1', created: 1700000000, model: 'llama2-7b' };

/** A validated streaming request as the middleware would build it. */
function makeRequest(kind: 'chat' | 'completions', includeUsage: boolean): LlmRequest {
  const body: Record<string, unknown> = { model: 'llama2', stream: true };
  if (includeUsage) body.stream_options = { include_usage: true };
  return kind === 'chat'
    ? { kind, model: 'llama2', messages: [{ role: 'user', content: 'What is 1 + 2?' }], stream: true, includeUsage, body }
    : { kind, model: 'llama2', prompt: 'What is 1 + 2?', stream: true, includeUsage, body };
}

interface Setup {
  format: Llama2Format;
  rawDialect?: 'tgi' | 'llamacpp';
  kind: 'chat' | 'completions';
  includeUsage: boolean;
}

function makeTranslator(s: Setup): StreamTranslator {
  const ctx: FormatContext = {
    routeType: s.kind === 'chat' ? 'llm/v1/chat' : 'llm/v1/completions',
    format: s.format,
    rawDialect: s.rawDialect ?? 'tgi',
  };
  return new StreamTranslator(getFormat(s.format), makeRequest(s.kind, s.includeUsage), ctx, META);
}

interface Result {
  /** The output of each call (feed per packet, then end), '' where a call produced nothing. */
  pushes: string[];
  text: string;
  converter: StreamTranslator;
}

async function convert(s: Setup, packets: Buffer[]): Promise<Result> {
  const converter = makeTranslator(s);
  const pushes = packets.map((p) => converter.feed(p));
  pushes.push(converter.end());
  return { pushes, text: pushes.join(''), converter };
}

interface Decoded {
  chunks: Array<Record<string, any>>;
  done: boolean;
  error?: { message: string; type: string; param: null; code: unknown };
}

/** Reads the client-visible SSE back, checking the exact `data: …\n\n` framing. */
function decode(text: string): Decoded {
  assert.ok(text.endsWith('\n\n'), 'output ends with a blank line');
  const out: Decoded = { chunks: [], done: false };
  for (const frame of text.slice(0, -2).split('\n\n')) {
    assert.match(frame, /^data: [^\n]+$/);
    assert.ok(!out.done && !out.error, 'nothing after [DONE] or an error frame');
    const data = frame.slice('data: '.length);
    if (data === '[DONE]') {
      out.done = true;
      continue;
    }
    const value = JSON.parse(data) as Record<string, any>;
    if (value.error) out.error = value.error;
    else out.chunks.push(value);
  }
  return out;
}

/** What a client assembles from the chunks. */
function summary(d: Decoded, kind: 'chat' | 'completions') {
  const choices = d.chunks.flatMap((c) => c.choices as Array<Record<string, any>>);
  return {
    text: choices.map((c) => (kind === 'chat' ? (c.delta.content ?? '') : c.text)).join(''),
    finish: choices.map((c) => c.finish_reason).filter((f) => f !== null),
    usage: d.chunks.filter((c) => c.usage).map((c) => c.usage),
    done: d.done,
    error: d.error,
  };
}

interface Case extends Setup {
  fixture: string;
  expect: ReturnType<typeof summary>;
}

const CASES: Case[] = [
  {
    fixture: 'stream-ollama-chat.ndjson',
    format: 'ollama',
    kind: 'chat',
    includeUsage: true,
    expect: { text: 'The sky', finish: ['stop'], usage: [{ prompt_tokens: 26, completion_tokens: 282, total_tokens: 308 }], done: true, error: undefined },
  },
  {
    fixture: 'stream-ollama-generate.ndjson',
    format: 'ollama',
    kind: 'completions',
    includeUsage: false,
    expect: { text: 'The sky', finish: ['stop'], usage: [], done: true, error: undefined },
  },
  {
    fixture: 'stream-ollama-chat-utf8-crlf.ndjson',
    format: 'ollama',
    kind: 'chat',
    includeUsage: false,
    expect: { text: 'héllo 🦙', finish: ['length'], usage: [], done: true, error: undefined },
  },
  {
    fixture: 'stream-ollama-error.ndjson',
    format: 'ollama',
    kind: 'completions',
    includeUsage: true,
    expect: {
      text: ' Yes.Ican',
      finish: [],
      usage: [],
      done: false,
      error: { message: 'an error was encountered while running the model', type: 'api_error', param: null, code: null },
    },
  },
  {
    fixture: 'stream-tgi-generate.sse',
    format: 'raw',
    rawDialect: 'tgi',
    kind: 'chat',
    includeUsage: true,
    // The answer's leading space is trimmed, as in the non-streamed answer.
    expect: { text: 'The sum is', finish: ['length'], usage: [{ prompt_tokens: 28, completion_tokens: 3, total_tokens: 31 }], done: true, error: undefined },
  },
  {
    fixture: 'stream-tgi-utf8-crlf.sse',
    format: 'raw',
    rawDialect: 'tgi',
    kind: 'completions',
    includeUsage: false,
    expect: { text: 'héllo 🦙', finish: ['stop'], usage: [], done: true, error: undefined },
  },
  {
    fixture: 'stream-llamacpp-completion.sse',
    format: 'raw',
    rawDialect: 'llamacpp',
    kind: 'completions',
    includeUsage: true,
    expect: { text: 'The sum', finish: ['stop'], usage: [{ prompt_tokens: 28, completion_tokens: 3, total_tokens: 31 }], done: true, error: undefined },
  },
  {
    fixture: 'stream-openai-chat.sse',
    format: 'openai',
    kind: 'chat',
    includeUsage: true,
    expect: { text: 'Hello', finish: ['stop'], usage: [{ prompt_tokens: 19, completion_tokens: 10, total_tokens: 29 }], done: true, error: undefined },
  },
  {
    fixture: 'stream-ollama-openai-chat.sse',
    format: 'openai',
    kind: 'chat',
    includeUsage: false,
    // The upstream's usage chunk is counted but not shown: this client did not ask for usage.
    expect: { text: 'The sky', finish: ['stop'], usage: [], done: true, error: undefined },
  },
];

function label(c: Case): string {
  return `${c.fixture} as ${c.format}${c.rawDialect ? `/${c.rawDialect}` : ''} ${c.kind}${c.includeUsage ? ' +usage' : ''}`;
}

/** The fixture without its final message (the `done:true` line, the final event, `[DONE]`). */
function withoutLastMessage(bytes: Buffer, framing: 'ndjson' | 'sse'): Buffer {
  const lines = bytes.toString('utf8').split('\n');
  let i = lines.length - 1;
  const isMessage = (l: string): boolean => (framing === 'sse' ? /^data:/.test(l) : l.trim() !== '');
  while (i >= 0 && !isMessage(lines[i] as string)) i--;
  assert.ok(i > 0);
  return Buffer.from(lines.slice(0, i).join('\n') + '\n', 'utf8');
}

describe('StreamTranslator with the real formats, every fixture cut at every offset', () => {
  for (const c of CASES) {
    test(label(c), async () => {
      const bytes = fixture(c.fixture);
      const whole = await convert(c, [bytes]);
      const decoded = decode(whole.text);
      assert.deepEqual(summary(decoded, c.kind), c.expect);
      for (const chunk of decoded.chunks) {
        assert.equal(chunk.id, META.id);
        assert.equal(chunk.created, META.created);
        assert.equal(chunk.model, META.model);
        assert.equal(chunk.object, c.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion');
      }
      if (c.kind === 'chat') assert.equal(decoded.chunks[0]?.choices[0].delta.role, 'assistant');
      assert.equal(whole.converter.outcome, c.expect.error ? 'error' : 'complete');
      // One input packet: all frames from feeding it, nothing left for the end.
      assert.deepEqual(
        whole.pushes.map((p) => p.length > 0),
        [true, false],
      );
      for (const { label: cut, packets } of cuttings(bytes)) {
        const r = await convert(c, packets);
        assert.deepEqual(decode(r.text), decoded, cut);
        assert.equal(r.converter.outcome, whole.converter.outcome, cut);
        assert.deepEqual(r.converter.usage, whole.converter.usage, cut);
      }
    });
  }

  test('usage is recorded for statistics even when the client did not ask for it', async () => {
    const r = await convert({ format: 'ollama', kind: 'completions', includeUsage: false }, [fixture('stream-ollama-generate.ndjson')]);
    assert.deepEqual(r.converter.usage, { prompt_tokens: 26, completion_tokens: 259, total_tokens: 285 });
    const o = await convert({ format: 'openai', kind: 'chat', includeUsage: false }, [fixture('stream-ollama-openai-chat.sse')]);
    assert.deepEqual(o.converter.usage, { prompt_tokens: 26, completion_tokens: 282, total_tokens: 308 });
  });
});

describe('StreamTranslator: truncated upstream streams', () => {
  const TRUNCATION = {
    message: 'upstream stream ended before the final event (truncated)',
    type: 'api_error',
    param: null,
    code: 'incomplete_upstream_answer',
  };
  for (const c of CASES.filter((x) => !x.expect.error)) {
    test(`${label(c)} without its final message ends with an error frame, never [DONE]`, async () => {
      const bytes = withoutLastMessage(fixture(c.fixture), getFormat(c.format).streamFraming);
      const whole = await convert(c, [bytes]);
      const decoded = decode(whole.text);
      assert.equal(decoded.done, false);
      assert.deepEqual(decoded.error, TRUNCATION);
      assert.equal(whole.converter.outcome, 'truncated');
      for (const { label: cut, packets } of cuttings(bytes)) {
        assert.deepEqual(decode((await convert(c, packets)).text), decoded, cut);
      }
    });
  }

  test('a final line cut in the middle is a truncation too', async () => {
    const full = fixture('stream-ollama-chat.ndjson');
    const r = await convert({ format: 'ollama', kind: 'chat', includeUsage: false }, [full.subarray(0, full.length - 40)]);
    const d = decode(r.text);
    assert.equal(summary(d, 'chat').text, 'The sky');
    assert.deepEqual(d.error, TRUNCATION);
    assert.equal(r.converter.outcome, 'truncated');

    const sse = fixture('stream-llamacpp-completion.sse');
    const s = await convert({ format: 'raw', rawDialect: 'llamacpp', kind: 'completions', includeUsage: false }, [sse.subarray(0, sse.length - 60)]);
    assert.deepEqual(decode(s.text).error, TRUNCATION);
  });

  test('an empty upstream body is a truncation', async () => {
    const r = await convert({ format: 'raw', rawDialect: 'tgi', kind: 'chat', includeUsage: false }, []);
    assert.deepEqual(decode(r.text), { chunks: [], done: false, error: TRUNCATION });
  });

  test('a final SSE event without its closing blank line still completes', async () => {
    const bytes = Buffer.from(fixture('stream-openai-chat.sse').toString('utf8').replace(/\n+$/, ''));
    const r = await convert({ format: 'openai', kind: 'chat', includeUsage: true }, [bytes]);
    assert.equal(decode(r.text).done, true);
    assert.equal(r.converter.outcome, 'complete');
  });
});

describe('StreamTranslator: garbage and errors mid-stream', () => {
  const cases: Array<{ name: string; setup: Setup; bytes: Buffer; before: string }> = [
    {
      name: 'ndjson: a line that is not JSON',
      setup: { format: 'ollama', kind: 'chat', includeUsage: false },
      bytes: (() => {
        const lines = fixture('stream-ollama-chat.ndjson').toString('utf8').split('\n');
        return Buffer.from([lines[0], '<html><body>502 Bad Gateway secret-payload</body></html>', ...lines.slice(1)].join('\n'));
      })(),
      before: 'The',
    },
    {
      name: 'sse: data that is not JSON',
      setup: { format: 'raw', rawDialect: 'tgi', kind: 'completions', includeUsage: false },
      bytes: (() => {
        const events = fixture('stream-tgi-generate.sse').toString('utf8').split('\n\n');
        return Buffer.from([...events.slice(0, 2), 'data:{"index":2,"token":{"id":2533,"text":" secret-payload"', ...events.slice(2)].join('\n\n'));
      })(),
      before: 'The',
    },
  ];
  for (const c of cases) {
    test(`${c.name}: error frame, no [DONE], the rest ignored, payload not echoed`, async () => {
      const whole = await convert(c.setup, [c.bytes]);
      const d = decode(whole.text);
      assert.equal(summary(d, c.setup.kind).text, c.before);
      assert.equal(d.done, false);
      assert.equal(d.error?.type, 'api_error');
      assert.match(d.error.message, /not valid JSON/);
      assert.ok(!whole.text.includes('secret-payload'));
      assert.equal(whole.converter.outcome, 'error');
      for (const { label: cut, packets } of cuttings(c.bytes)) {
        assert.deepEqual(decode((await convert(c.setup, packets)).text), d, cut);
      }
    });
  }

  test('JSON of the wrong shape: the format error becomes an error frame', async () => {
    const r = await convert({ format: 'ollama', kind: 'chat', includeUsage: false }, [Buffer.from('[1,2,3]\n{"done":true}\n')]);
    const d = decode(r.text);
    assert.equal(d.chunks.length, 0);
    assert.equal(d.error?.type, 'api_error');
    assert.match(d.error.message, /Ollama/);
    assert.equal(r.converter.outcome, 'error');
  });

  test('llama.cpp error event inside a 200 stream', async () => {
    const bytes = Buffer.from(
      'data: {"index":0,"content":"Hi","tokens":[1],"stop":false}\n\n' + 'data: {"error":{"code":500,"message":"slot crashed","type":"server_error"}}\n\n',
    );
    const r = await convert({ format: 'raw', rawDialect: 'llamacpp', kind: 'chat', includeUsage: false }, [bytes]);
    const d = decode(r.text);
    assert.equal(summary(d, 'chat').text, 'Hi');
    assert.equal(d.done, false);
    assert.match(d.error!.message, /slot crashed/);
    assert.equal(r.converter.outcome, 'error');
  });

  test('SSE `event: error` whose data is not an error object still ends in an error frame', async () => {
    const bytes = Buffer.from('event: error\ndata: {"index":0,"content":"x","stop":false}\n\n');
    const r = await convert({ format: 'raw', rawDialect: 'llamacpp', kind: 'completions', includeUsage: false }, [bytes]);
    const d = decode(r.text);
    assert.equal(d.done, false);
    assert.equal(d.error?.message, 'upstream sent an SSE error event');
  });

  test('input after the final event is ignored, even garbage', async () => {
    const bytes = Buffer.concat([fixture('stream-ollama-chat.ndjson'), Buffer.from('not json\n{"done":true}\n')]);
    const r = await convert({ format: 'ollama', kind: 'chat', includeUsage: false }, [bytes]);
    const d = decode(r.text);
    assert.equal(d.done, true);
    assert.equal(d.error, undefined);
    assert.equal(r.converter.outcome, 'complete');
  });

  test('a line without a line end beyond 8 MiB ends with an error frame', async () => {
    const setup: Setup = { format: 'ollama', kind: 'chat', includeUsage: false };
    const first = fixture('stream-ollama-chat.ndjson').toString('utf8').split('\n')[0] + '\n';
    const junk = Buffer.alloc(1024 * 1024, 'x');
    const packets = [Buffer.from(first), ...Array.from({ length: 9 }, () => junk)];
    const r = await convert(setup, packets);
    const d = decode(r.text);
    assert.equal(summary(d, 'chat').text, 'The');
    assert.match(d.error!.message, /line longer than/);
    assert.equal(r.converter.outcome, 'error');
  });
});

describe('StreamTranslator: output per packet', () => {
  const setup: Setup = { format: 'ollama', kind: 'chat', includeUsage: false };

  test('a packet without a complete line gives nothing; one that completes lines gives their frames at once', () => {
    const translator = makeTranslator(setup);
    const lines = fixture('stream-ollama-chat.ndjson').toString('utf8').split('\n');
    assert.equal(translator.feed(Buffer.from(lines[0]!.slice(0, 10))), '');
    const out = translator.feed(Buffer.from(lines[0]!.slice(10) + '\n' + lines[1] + '\n'));
    assert.equal(decode(out).chunks.length, 2);
    assert.deepEqual(decode(translator.end()).error?.message, 'upstream stream ended before the final event (truncated)');
    assert.equal(translator.outcome, 'truncated');
  });

  test('an upstream failing mid-stream gives one error frame, then nothing more', () => {
    const translator = makeTranslator(setup);
    translator.feed(Buffer.from('{"model":"m","message":{"content":"a"},"done":false}\n'));
    const out = translator.failUpstream('the upstream connection was lost before the answer was complete');
    assert.deepEqual(decode(out).error, {
      message: 'the upstream connection was lost before the answer was complete',
      type: 'api_error',
      param: null,
      code: 'upstream_failed',
    });
    assert.equal(translator.ended, true);
    assert.equal(translator.feed(Buffer.from('{"model":"m","message":{"content":"b"},"done":false}\n')), '');
    assert.equal(translator.end(), '');
  });
});
