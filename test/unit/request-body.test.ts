import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { readJsonBody } from '../../lib/body';
import { ProxyError } from '../../lib/errors';
import { MAX_JSON_DEPTH } from '../../lib/request-body/json-depth';

type Req = IncomingMessage & { body?: unknown };

function incoming(chunks: Array<string | Buffer>, headers: Record<string, string> = {}, end = true): Req {
  const req: Req = new IncomingMessage(new Socket());
  req.headers = headers;
  for (const c of chunks) req.push(typeof c === 'string' ? Buffer.from(c) : c);
  if (end) req.push(null);
  return req;
}

async function rejection(run: () => unknown): Promise<{ status: number; code: string | null; message: string }> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof ProxyError, `expected a ProxyError, got ${String(err)}`);
    return { status: err.status, code: err.code, message: err.message };
  }
  assert.fail('the body was accepted');
}

const BODY = { messages: [{ role: 'user', content: 'héllo 🦙' }] };
const TEXT = JSON.stringify(BODY);
const LIMIT = 1024;

describe('readJsonBody: Content-Encoding', () => {
  const encoders: Array<[string, (b: Buffer) => Buffer]> = [
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['GZip ', gzipSync],
  ];
  for (const [encoding, encode] of encoders) {
    test(`${encoding.trim()} is inflated`, async () => {
      const bytes = encode(Buffer.from(TEXT));
      assert.deepEqual(await readJsonBody(incoming([bytes.subarray(0, 5), bytes.subarray(5)], { 'content-encoding': encoding }), LIMIT), BODY);
    });
  }

  test('identity is read as is', async () => {
    assert.deepEqual(await readJsonBody(incoming([TEXT], { 'content-encoding': 'identity' }), LIMIT), BODY);
  });

  for (const encoding of ['zstd', 'compress', 'gzip, br', 'x-☃']) {
    test(`"${encoding}" is a 415`, async () => {
      const r = await rejection(() => readJsonBody(incoming([TEXT], { 'content-encoding': encoding }), LIMIT));
      assert.equal(r.status, 415);
      assert.equal(r.code, 'unsupported_content_encoding');
    });
  }

  test('the limit applies to the inflated size (a zip bomb is a 413)', async () => {
    const bomb = gzipSync(Buffer.from(`{"prompt":"${'a'.repeat(10 * 1024 * 1024)}"}`));
    assert.ok(bomb.length < LIMIT * 20);
    const r = await rejection(() => readJsonBody(incoming([bomb], { 'content-encoding': 'gzip' }), 64 * 1024));
    assert.equal(r.status, 413);
  });

  test('the limit applies to the bytes received too (endless empty gzip members inflate to nothing)', async () => {
    const empty = gzipSync(Buffer.alloc(0));
    const r = await rejection(() => readJsonBody(incoming([Buffer.concat(Array.from({ length: 100 }, () => empty))], { 'content-encoding': 'gzip' }), LIMIT));
    assert.equal(r.status, 413);
  });

  test('a body that is not what its Content-Encoding says is a 400', async () => {
    const r = await rejection(() => readJsonBody(incoming([TEXT], { 'content-encoding': 'gzip' }), LIMIT));
    assert.deepEqual(r, { status: 400, code: 'invalid_encoding', message: 'the request body could not be decoded as its Content-Encoding says' });
  });

  test('raw deflate labelled deflate is a 400, not a hang', async () => {
    const r = await rejection(() => readJsonBody(incoming([deflateRawSync(Buffer.from(TEXT))], { 'content-encoding': 'deflate' }), LIMIT));
    assert.equal(r.status, 400);
  });

  test('a cut gzip body is a 400', async () => {
    const bytes = gzipSync(Buffer.from(TEXT));
    const r = await rejection(() => readJsonBody(incoming([bytes.subarray(0, bytes.length - 6)], { 'content-encoding': 'gzip' }), LIMIT));
    assert.equal(r.status, 400);
  });
});

describe('readJsonBody: BOM, depth, timeout', () => {
  test('a UTF-8 byte order mark is accepted', async () => {
    assert.deepEqual(await readJsonBody(incoming([Buffer.from([0xef, 0xbb, 0xbf]), TEXT]), LIMIT), BODY);
  });

  test('a BOM in a string from express.text() too', () => {
    const req = incoming([]);
    req.resume();
    return new Promise<void>((resolve) =>
      req.on('end', () => {
        req.body = `\ufeff${TEXT}`;
        assert.deepEqual(readJsonBody(req, LIMIT), BODY);
        resolve();
      }),
    );
  });

  test(`nesting beyond ${MAX_JSON_DEPTH} levels is a 400 at parse time`, async () => {
    const deep = `{"messages":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    const r = await rejection(() => readJsonBody(incoming([deep]), 1_000_000));
    assert.deepEqual(r, { status: 400, code: 'json_too_deep', message: `the request body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels` });
    const ok = `{"messages":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`;
    assert.ok(await readJsonBody(incoming([ok]), 1_000_000));
  });

  test('an already parsed req.body (express.json()) is checked too', async () => {
    const req = incoming([]);
    req.resume();
    await new Promise((r) => req.on('end', r));
    req.body = { messages: JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) };
    assert.throws(
      () => readJsonBody(req, LIMIT),
      (err: unknown) => err instanceof ProxyError && err.status === 400 && err.code === 'json_too_deep',
    );
  });

  test('a body that does not finish within the timeout is a 408', async () => {
    const req = incoming(['{"messages":'], {}, false);
    const started = Date.now();
    const r = await rejection(() => readJsonBody(req, LIMIT, 100));
    assert.deepEqual(r, { status: 408, code: 'request_timeout', message: 'the request body did not arrive within 100 ms (request_body_timeout)' });
    assert.ok(Date.now() - started >= 90);
  });

  test('a compressed body that does not finish within the timeout is a 408 too', async () => {
    const bytes = gzipSync(Buffer.from(TEXT));
    const r = await rejection(() => readJsonBody(incoming([bytes.subarray(0, 10)], { 'content-encoding': 'gzip' }, false), LIMIT, 100));
    assert.equal(r.status, 408);
  });

  test('a body in time clears its timer', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    assert.deepEqual(await readJsonBody(incoming([TEXT]), LIMIT, 60_000), BODY);
    assert.equal(timers(), before);
  });
});
