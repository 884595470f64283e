import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { readJsonBody } from '../../lib/body';
import { ProxyError } from '../../lib/errors';

type Req = IncomingMessage & { body?: unknown };

/** A real IncomingMessage whose body arrives as `chunks` (not yet read). */
function incoming(chunks: Array<string | Buffer>, headers: Record<string, string> = {}): Req {
  const req: Req = new IncomingMessage(new Socket());
  req.headers = headers;
  for (const c of chunks) req.push(typeof c === 'string' ? Buffer.from(c) : c);
  req.push(null);
  return req;
}

/** An IncomingMessage a body parser (express.json / text / raw) has already consumed. */
async function consumed(body: unknown, headers: Record<string, string> = {}): Promise<Req> {
  const req = incoming([], headers);
  req.resume();
  await once(req, 'end');
  req.body = body;
  return req;
}

/** What the client is answered: status, type, code, message. */
async function rejection(run: () => unknown): Promise<{ status: number; type: string; code: string | null; message: string }> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof ProxyError, `expected a ProxyError, got ${String(err)}`);
    return { status: err.status, type: err.type, code: err.code, message: err.message };
  }
  assert.fail('the body was accepted');
}

const LIMIT = 64;
const notAnObject = { status: 400, type: 'invalid_request_error', code: null, message: 'the request body must be a JSON object' };
const tooLarge = {
  status: 413,
  type: 'invalid_request_error',
  code: 'request_too_large',
  message: `the request body is larger than the ${LIMIT} bytes this route accepts (max_request_body_size)`,
};

describe('readJsonBody: reading the stream', () => {
  test('one chunk', async () => {
    assert.deepEqual(await readJsonBody(incoming(['{"prompt":"Hi"}']), LIMIT), { prompt: 'Hi' });
  });

  test('a multi-byte character split across chunks', async () => {
    const bytes = Buffer.from('{"prompt":"héllo 🦙"}');
    const at = bytes.indexOf(0xf0) + 2;
    assert.deepEqual(await readJsonBody(incoming([bytes.subarray(0, 5), bytes.subarray(5, at), bytes.subarray(at)]), LIMIT), { prompt: 'héllo 🦙' });
  });

  test('exactly the limit is accepted', async () => {
    const text = `{"prompt":"${'x'.repeat(LIMIT - 13)}"}`;
    assert.equal(Buffer.byteLength(text), LIMIT);
    assert.deepEqual(await readJsonBody(incoming([text]), LIMIT), { prompt: 'x'.repeat(LIMIT - 13) });
  });

  const rejected: Array<[string, Array<string | Buffer>, Record<string, string>, object]> = [
    ['an empty body', [], {}, { status: 400, type: 'invalid_request_error', code: null, message: 'the request body is empty: expected a JSON object' }],
    [
      'invalid JSON (the body is not echoed)',
      ['{"prompt": "my-private-text'],
      {},
      { status: 400, type: 'invalid_request_error', code: 'invalid_json', message: 'the request body is not valid JSON: expected a JSON object' },
    ],
    ['a JSON array', ['[{"role":"user"}]'], {}, notAnObject],
    ['a JSON string', ['"Hi"'], {}, notAnObject],
    ['JSON null', ['null'], {}, notAnObject],
    ['one byte over the limit, no content-length', ['{"prompt":"', 'x'.repeat(LIMIT), '"}'], {}, tooLarge],
    ['over the limit counted in bytes, not characters', [`{"p":"${'é'.repeat(30)}"}`], {}, tooLarge],
  ];
  for (const [name, chunks, headers, expected] of rejected) {
    test(name, async () => {
      assert.deepEqual(await rejection(() => readJsonBody(incoming(chunks, headers), LIMIT)), expected);
    });
  }

  test('a declared content-length over the limit is refused before reading', async () => {
    const req = incoming(['{}'], { 'content-length': String(LIMIT + 1) });
    assert.throws(
      () => readJsonBody(req, LIMIT),
      (err: unknown) => err instanceof ProxyError && err.status === 413 && err.message === tooLarge.message,
    );
    assert.equal(req.readableEnded, false);
  });

  test('a stream error is a 400', async () => {
    const req: Req = new IncomingMessage(new Socket());
    req.headers = {};
    const pending = readJsonBody(req, LIMIT);
    req.push(Buffer.from('{"pro'));
    req.destroy(new Error('aborted'));
    assert.deepEqual(await rejection(() => pending), { status: 400, type: 'invalid_request_error', code: null, message: 'the request body could not be read' });
  });
});

describe('readJsonBody: a body parser ran first', () => {
  test('express.json(): the parsed object is used as is, synchronously', async () => {
    const body = { messages: [{ role: 'user', content: 'Hi' }] };
    const out = readJsonBody(await consumed(body), LIMIT);
    assert.ok(!(out instanceof Promise));
    assert.equal(out, body);
  });

  test('express.text(): the string is parsed', async () => {
    assert.deepEqual(readJsonBody(await consumed('{"prompt":"Hi"}'), LIMIT), { prompt: 'Hi' });
  });

  test('express.raw(): the buffer is parsed', async () => {
    assert.deepEqual(readJsonBody(await consumed(Buffer.from('{"prompt":"Hi"}')), LIMIT), { prompt: 'Hi' });
  });

  const rejected: Array<[string, unknown, object]> = [
    ['a parsed array', [1, 2], notAnObject],
    ['a parsed null', null, notAnObject],
    ['a string over the limit', `{"prompt":"${'x'.repeat(LIMIT)}"}`, tooLarge],
    [
      'a string that is not JSON',
      'prompt=Hi',
      { status: 400, type: 'invalid_request_error', code: 'invalid_json', message: 'the request body is not valid JSON: expected a JSON object' },
    ],
  ];
  for (const [name, parsed, expected] of rejected) {
    test(name, async () => {
      const req = await consumed(parsed);
      assert.deepEqual(await rejection(() => readJsonBody(req, LIMIT)), expected);
    });
  }

  test("a parsed object whose content-length is over this route's limit is a 413", async () => {
    const req = await consumed({ prompt: 'x'.repeat(LIMIT) }, { 'content-length': String(LIMIT + 14) });
    assert.deepEqual(await rejection(() => readJsonBody(req, LIMIT)), tooLarge);
  });

  test('req.body set but the stream unread (Express 4 body-parser, other content type): the stream is read', async () => {
    const req = incoming(['{"prompt":"from the stream"}']);
    req.body = {};
    assert.deepEqual(await readJsonBody(req, LIMIT), { prompt: 'from the stream' });
  });
});
