/**
 * Connection handling against a real llama.cpp server: it closes the connection after every
 * streamed answer although it announced keep-alive, which used to turn 10-36 % of back-to-back
 * streamed requests into 502s. Every request must be answered, one after the other or in parallel,
 * and a client that leaves mid-stream must stop the server's generation for it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStream, post, sseData } from '../support/http-client';
import { type Format, type Harness, MODEL, startHarness } from './support/harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

const chat = { model: MODEL, messages: [{ role: 'user', content: 'Say hello' }], stream: true };

/** A streamed chat answer read whole: the status, and whether it ended with [DONE] after "Hello world!". */
async function streamOnce(format: Format): Promise<{ status: number; ok: boolean; text: string }> {
  const r = await post(h.route(format, 'chat'), chat, { timeoutMs: 20_000 });
  const frames = r.status === 200 ? sseData(r.text) : [];
  const text = frames
    .filter((f) => f !== '[DONE]' && f.choices?.length)
    .map((f) => f.choices[0].delta.content ?? '')
    .join('');
  return { status: r.status, ok: r.status === 200 && frames.at(-1) === '[DONE]' && text.trim() === 'Hello world!', text: r.text };
}

describe('every streamed request is answered', () => {
  for (const format of ['raw', 'openai'] as const) {
    test(`${format}: 200 back-to-back streamed requests, no 502`, async () => {
      const statuses: Record<number, number> = {};
      let bad = 0;
      for (let i = 0; i < 200; i++) {
        const r = await streamOnce(format);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (!r.ok) bad++;
      }
      assert.deepEqual({ bad, statuses }, { bad: 0, statuses: { 200: 200 } });
    });

    test(`${format}: 8 parallel streams, all answered`, async () => {
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(Array.from({ length: 8 }, () => streamOnce(format)));
        assert.deepEqual(
          results.map((r) => r.status),
          Array(8).fill(200),
        );
        assert.ok(
          results.every((r) => r.ok),
          results.find((r) => !r.ok)?.text.slice(0, 300),
        );
      }
    });
  }
});

interface Slot {
  id: number;
  is_processing: boolean;
  id_task?: number;
  next_token?: Array<{ n_decoded: number; n_remain: number }>;
}

async function slots(): Promise<Slot[]> {
  return (await fetch(`${h.server.url}/slots`)).json() as Promise<Slot[]>;
}

describe('a client that leaves mid-stream', () => {
  for (const format of ['raw', 'openai'] as const) {
    test(`${format}: the server stops generating for it (/slots)`, async () => {
      const N = 480;
      const s = await openStream(
        h.route(format, 'completions'),
        { model: MODEL, prompt: '[INST] Tell me a story [/INST] Once upon a time', max_tokens: N, stream: true },
        { timeoutMs: 20_000 },
      );
      assert.equal(s.status, 200);
      await s.readUntil((t) => t.includes('"text":"'));
      s.abort();
      // The slot is released long before N tokens would have been generated.
      let last: Slot | undefined;
      for (let i = 0; i < 100; i++) {
        const all = await slots();
        last = all.filter((x) => x.id_task !== undefined).sort((a, b) => (b.id_task ?? 0) - (a.id_task ?? 0))[0];
        if (all.every((x) => !x.is_processing)) break;
        await sleep(20);
      }
      assert.ok(last, 'no slot has run a task');
      assert.equal(last.is_processing, false);
      const next = last.next_token?.[0];
      assert.ok(next, JSON.stringify(last));
      assert.ok(next.n_decoded < N && next.n_remain > 0, `the server generated ${next.n_decoded} of ${N} tokens for a client that had left`);
    });
  }
});
