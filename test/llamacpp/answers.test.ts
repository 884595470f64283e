/**
 * Answers from a real llama.cpp server through express-ai-proxy, in both formats (`raw` to
 * `/completion`, `openai` to `/v1/...`), chat and completions, streamed and not, with the official
 * openai SDK and plain HTTP. The model answers every Llama 2 chat prompt (one ending in `[/INST]`)
 * with " Hello world!" and end-of-sequence (shared/llamacpp/README.md), so results are checkable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { post, sseData } from '../support/http-client';
import { type Format, type Harness, type Kind, MODEL, startHarness } from './support/harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

const QUESTION = 'Say hello';
/** The Llama 2 prompt of one user turn, as Meta's template writes it. */
const INST_PROMPT = `[INST] ${QUESTION} [/INST]`;

/** The request body for a kind; on `openai` completions the client writes the template itself. */
function body(format: Format, kind: Kind, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (kind === 'chat') return { model: MODEL, messages: [{ role: 'user', content: QUESTION }], ...extra };
  return { model: MODEL, prompt: format === 'raw' ? QUESTION : INST_PROMPT, ...extra };
}

/** The server's own token counts for the same request, asked directly in its own API. */
async function serverUsage(format: Format, kind: Kind, extra: Record<string, unknown> = {}): Promise<{ prompt_tokens: number; completion_tokens: number }> {
  if (format === 'raw') {
    const a = await h.direct('/completion', { prompt: INST_PROMPT, ...(extra.max_tokens ? { n_predict: extra.max_tokens } : {}) });
    return { prompt_tokens: a.tokens_evaluated, completion_tokens: a.tokens_predicted };
  }
  const path = kind === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  const a = await h.direct(path, body(format, kind, extra));
  return { prompt_tokens: a.usage.prompt_tokens, completion_tokens: a.usage.completion_tokens };
}

function textOf(kind: Kind, choice: any): string {
  return kind === 'chat' ? choice.message.content : choice.text;
}

/** Text, finish reason, usage and model of a streamed answer, checking its frames as it goes. */
function readStream(kind: Kind, text: string) {
  const frames = sseData(text);
  assert.equal(frames.at(-1), '[DONE]', `no [DONE] in ${text.slice(-300)}`);
  const chunks = frames.slice(0, -1);
  const ids = new Set(chunks.map((c) => c.id));
  assert.equal(ids.size, 1, 'one id for the whole stream');
  for (const c of chunks) {
    assert.equal(c.model, MODEL);
    assert.equal(c.object, kind === 'chat' ? 'chat.completion.chunk' : 'text_completion');
  }
  const withChoice = chunks.filter((c) => c.choices.length > 0);
  const out = withChoice.map((c) => (kind === 'chat' ? (c.choices[0].delta.content ?? '') : c.choices[0].text)).join('');
  const finish = withChoice.map((c) => c.choices[0].finish_reason).filter((f) => f !== null);
  const usage = chunks.find((c) => c.choices.length === 0 && c.usage)?.usage;
  return { text: out, finish, usage, id: [...ids][0] as string };
}

for (const format of ['raw', 'openai'] as const) {
  for (const kind of ['chat', 'completions'] as const) {
    describe(`${format} ${kind}`, () => {
      test("openai SDK, not streamed: text, finish_reason stop, usage as the server counts, the route's model", async () => {
        const client = h.client(format);
        const a: any =
          kind === 'chat' ? await client.chat.completions.create(body(format, kind) as never) : await client.completions.create(body(format, kind) as never);
        assert.equal(textOf(kind, a.choices[0]).trim(), 'Hello world!');
        assert.equal(a.choices[0].finish_reason, 'stop');
        const expected = await serverUsage(format, kind);
        assert.equal(a.usage.prompt_tokens, expected.prompt_tokens);
        assert.equal(a.usage.completion_tokens, expected.completion_tokens);
        assert.equal(a.usage.total_tokens, expected.prompt_tokens + expected.completion_tokens);
        assert.equal(a.model, MODEL);
        assert.match(a.id, kind === 'chat' ? /^chatcmpl-/ : /^cmpl-/);
        assert.ok(!JSON.stringify(a).includes('.gguf'), "the server's model path leaked");
      });

      test('openai SDK, streamed with include_usage: the same text, stop, and the same usage', async () => {
        const client = h.client(format);
        const req = body(format, kind, { stream: true, stream_options: { include_usage: true } });
        const stream = (kind === 'chat'
          ? await client.chat.completions.create(req as never)
          : await client.completions.create(req as never)) as unknown as AsyncIterable<any>;
        let text = '';
        let finish: string | null = null;
        let usage: any;
        const models = new Set<string>();
        for await (const chunk of stream) {
          models.add(chunk.model);
          if (chunk.usage) usage = chunk.usage;
          const c = chunk.choices[0];
          if (!c) continue;
          text += kind === 'chat' ? (c.delta.content ?? '') : c.text;
          if (c.finish_reason) finish = c.finish_reason;
        }
        assert.equal(text.trim(), 'Hello world!');
        assert.equal(finish, 'stop');
        assert.deepEqual([...models], [MODEL]);
        const expected = await serverUsage(format, kind);
        assert.deepEqual(
          { prompt_tokens: usage?.prompt_tokens, completion_tokens: usage?.completion_tokens, total_tokens: usage?.total_tokens },
          { ...expected, total_tokens: expected.prompt_tokens + expected.completion_tokens },
        );
      });

      test('plain HTTP: max_tokens 2 → finish_reason length, 2 completion tokens (JSON and stream)', async () => {
        const r = await post(h.route(format, kind), body(format, kind, { max_tokens: 2 }), { timeoutMs: 20_000 });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers.get('x-llm-model'), `llama2/${MODEL}`);
        assert.equal(r.json.model, MODEL);
        assert.equal(r.json.choices[0].finish_reason, 'length');
        assert.equal(textOf(kind, r.json.choices[0]).trim(), 'Hello world');
        assert.equal(r.json.usage.completion_tokens, 2);
        assert.equal(r.json.usage.completion_tokens, (await serverUsage(format, kind, { max_tokens: 2 })).completion_tokens);

        const s = await post(h.route(format, kind), body(format, kind, { max_tokens: 2, stream: true }), { timeoutMs: 20_000 });
        assert.equal(s.status, 200, s.text);
        assert.equal(s.headers.get('x-llm-model'), `llama2/${MODEL}`);
        const out = readStream(kind, s.text);
        assert.equal(out.text.trim(), 'Hello world');
        assert.deepEqual(out.finish, ['length']);
        assert.equal(out.usage, undefined, 'usage only when the client asks for it');
      });

      test('plain HTTP: the stop sequence "world" ends the answer early with finish_reason stop (JSON and stream)', async () => {
        const r = await post(h.route(format, kind), body(format, kind, { stop: ['world'] }), { timeoutMs: 20_000 });
        assert.equal(r.status, 200, r.text);
        assert.equal(textOf(kind, r.json.choices[0]).trim(), 'Hello');
        assert.equal(r.json.choices[0].finish_reason, 'stop');
        const s = await post(h.route(format, kind), body(format, kind, { stop: 'world', stream: true }), { timeoutMs: 20_000 });
        const out = readStream(kind, s.text);
        assert.equal(out.text.trim(), 'Hello');
        assert.deepEqual(out.finish, ['stop']);
      });
    });
  }
}

describe('temperature 0', () => {
  // A prompt that does not end in [/INST] walks random tokens: only greedy decoding repeats itself.
  const story = '[INST] Tell me a story [/INST] Once upon a time';
  for (const format of ['raw', 'openai'] as const) {
    test(`${format}: the same answer twice, and the server's own greedy answer`, async () => {
      const req = { model: MODEL, prompt: story, max_tokens: 24, temperature: 0 };
      const a = await post(h.route(format, 'completions'), req, { timeoutMs: 20_000 });
      const b = await post(h.route(format, 'completions'), { ...req, stream: true }, { timeoutMs: 20_000 });
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json.choices[0].finish_reason, 'length');
      assert.equal(a.json.usage.completion_tokens, 24);
      const text: string = a.json.choices[0].text;
      assert.ok(text.trim().length > 0);
      assert.equal(readStream('completions', b.text).text, text);
      const direct =
        format === 'raw'
          ? (await h.direct('/completion', { prompt: story, n_predict: 24, temperature: 0 })).content
          : (await h.direct('/v1/completions', req)).choices[0].text;
      // The raw format trims the whitespace at the very start of an answer.
      assert.equal(text, format === 'raw' ? direct.trimStart() : direct);
    });
  }
});
