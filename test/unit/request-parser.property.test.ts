/**
 * Property: whatever bytes a client sends, cut wherever the network cuts them, the request parser
 * (body reading, toLlmRequest, the format's upstream body and its serialisation) gives a valid
 * request or a ProxyError (answered as a 4xx), never another throw; and a valid request's
 * X-LLM-Model value is always one Node accepts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, validateHeaderValue } from 'node:http';
import { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { readJsonBody } from '../../lib/body';
import { validateConfig } from '../../lib/config';
import { ProxyError } from '../../lib/errors';
import { getFormat, rawDialectFor } from '../../lib/formats';
import { toLlmRequest } from '../../lib/llm-request';
import { modelHeaderValue } from '../../lib/route-parts';
import type { AiProxyConfig, Llama2Format } from '../../lib/types';

type Req = IncomingMessage & { body?: unknown };

const RUNS = Number(process.env.FC_RUNS ?? 300);

function incoming(bytes: Buffer, cuts: number[], headers: Record<string, string>): Req {
  const req: Req = new IncomingMessage(new Socket());
  req.headers = headers;
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    req.push(bytes.subarray(at, cut));
    at = cut;
  }
  req.push(bytes.subarray(at));
  req.push(null);
  return req;
}

/** Values a client might put in a field: JSON of any shape, with the awkward strings weighted in. */
const awkwardString = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '\r\n', '\0', '☃', 'a\ud800', '[INST]', '<<SYS>>', '</s><s>', '__proto__', 'm'.repeat(20_000)),
);
const nestedText = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
const DEEP_TEXT = nestedText(100_000);
/** Stands for the 100,000-deep array in values serialised for the wire (JSON.stringify itself would overflow on it). */
const DEEP_MARK = '\u0000deep\u0000';
const toWire = (v: unknown): string => (JSON.stringify(v) ?? '').split(JSON.stringify(DEEP_MARK)).join(DEEP_TEXT);

/** Client values: JSON of any shape, with the awkward strings and nestings weighted in. `deep` is the deepest one. */
function clientValues(deep: fc.Arbitrary<unknown>) {
  const nested = fc.oneof(
    fc.integer({ min: 0, max: 200 }).map((n) => JSON.parse(nestedText(n))),
    deep,
  );
  const anyValue = fc.oneof(fc.jsonValue(), awkwardString, nested, fc.constant(null));
  const message = fc.oneof(
    fc.record({
      role: fc.constantFrom('system', 'user', 'assistant', 'tool', 'x'),
      content: fc.oneof(awkwardString, fc.array(fc.record({ type: fc.constantFrom('text', 'image_url'), text: anyValue }))),
    }),
    anyValue,
  );
  const requestLike = fc.record(
    {
      model: fc.oneof(awkwardString, anyValue),
      messages: fc.oneof(fc.array(message, { maxLength: 6 }), anyValue),
      prompt: fc.oneof(awkwardString, fc.array(awkwardString, { maxLength: 2 }), anyValue),
      stream: fc.oneof(fc.boolean(), anyValue),
      stream_options: anyValue,
      max_tokens: fc.oneof(fc.integer(), fc.double(), anyValue),
      temperature: fc.oneof(fc.double(), anyValue),
      top_p: fc.oneof(fc.double(), anyValue),
      top_k: fc.oneof(fc.integer(), anyValue),
      stop: fc.oneof(awkwardString, fc.array(awkwardString), anyValue),
      extra: anyValue,
    },
    { requiredKeys: [] },
  );
  // A valid request with one field replaced or added: reaches the format far more often than a random record.
  const nearlyValid = fc
    .record({
      chat: fc.boolean(),
      stream: fc.boolean(),
      field: fc.constantFrom('extra', 'tools', 'response_format', 'user', 'model', 'messages', 'prompt', 'stop', 'stream_options'),
      value: anyValue,
    })
    .map(({ chat, stream, field, value }) => ({
      model: 'llama2',
      stream,
      ...(chat ? { messages: [{ role: 'user', content: 'hi' }] } : { prompt: 'hi' }),
      [field]: value,
    }));
  return { anyValue, requestLike: fc.oneof(requestLike, nearlyValid), nearlyValid };
}

const wire = clientValues(fc.constant(DEEP_MARK));
// Parsed once: every run that picks it shares the same array.
const DEEP_PARSED = JSON.parse(DEEP_TEXT);
const parsedValues = clientValues(fc.constant(DEEP_PARSED));

/** A body on the wire: JSON text of a request-like object or of anything, or arbitrary bytes; maybe with a BOM, maybe gzipped. */
const wireBody = fc
  .tuple(
    fc.oneof(
      wire.requestLike.map((o) => Buffer.from(toWire(o))),
      wire.anyValue.map((v) => Buffer.from(toWire(v))),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.string().map((s) => Buffer.from(s)),
    ),
    fc.boolean(),
    fc.constantFrom(undefined, 'gzip', 'identity', 'br-but-not-really'),
  )
  .map(([bytes, bom, encoding]): { bytes: Buffer; headers: Record<string, string> } => {
    const withBom = bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]) : bytes;
    if (encoding === 'gzip') return { bytes: gzipSync(withBom), headers: { 'content-encoding': 'gzip' } };
    if (encoding === 'br-but-not-really') return { bytes: withBom, headers: { 'content-encoding': 'br' } };
    return { bytes: withBom, headers: encoding ? { 'content-encoding': encoding } : {} };
  });

const routeConfig = fc.record({
  route: fc.constantFrom<AiProxyConfig['route_type']>('llm/v1/chat', 'llm/v1/completions'),
  format: fc.constantFrom<Llama2Format>('ollama', 'raw', 'openai'),
  url: fc.constantFrom('http://h/api/chat', 'http://h/generate', 'http://h/completion', 'http://h/v1/chat/completions'),
  name: fc.constantFrom(undefined, 'llama2'),
  streaming: fc.constantFrom<'allow' | 'deny' | 'always'>('allow', 'deny', 'always'),
  limit: fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.constant(1_000_000)),
  logStats: fc.boolean(),
});

type RouteConfig = typeof routeConfig extends fc.Arbitrary<infer T> ? T : never;

/** Parses like the middleware does; returns the upstream body text, or the ProxyError. */
async function parse(bytes: Buffer, cuts: number[], headers: Record<string, string>, rc: RouteConfig): Promise<unknown> {
  const config = validateConfig({
    route_type: rc.route,
    model: { provider: 'llama2', ...(rc.name ? { name: rc.name } : {}), options: { llama2_format: rc.format, upstream_url: rc.url } },
    response_streaming: rc.streaming,
    max_request_body_size: rc.limit,
    logging: { log_statistics: rc.logStats },
  });
  try {
    const body = await readJsonBody(incoming(bytes, cuts, headers), config.max_request_body_size);
    const llmReq = toLlmRequest(body, config);
    const format = getFormat(rc.format);
    const upstream = format.toUpstream(llmReq, {
      routeType: config.route_type,
      format: rc.format,
      rawDialect: rawDialectFor(new URL(rc.url).pathname, 'auto'),
    });
    assert.doesNotThrow(() => validateHeaderValue('x-llm-model', modelHeaderValue(llmReq.model)));
    return JSON.stringify(upstream);
  } catch (err) {
    return err;
  }
}

function assertValidOrProxyError(out: unknown): void {
  if (typeof out === 'string') return;
  assert.ok(out instanceof ProxyError, `not a ProxyError: ${(out as Error)?.stack ?? String(out)}`);
  assert.ok(out.status >= 400 && out.status < 500, `status ${out.status} for ${out.message}`);
}

describe('request parser: any body gives a valid request or a ProxyError', () => {
  test('arbitrary bodies, cut at arbitrary places, on arbitrary routes', async () => {
    await fc.assert(
      fc.asyncProperty(wireBody, fc.array(fc.nat(), { maxLength: 5 }), routeConfig, async ({ bytes, headers }, cuts, rc) => {
        assertValidOrProxyError(await parse(bytes, cuts, headers, rc));
      }),
      { numRuns: RUNS },
    );
  });

  test('valid requests with one hostile field reach the format and its serialisation', async () => {
    await fc.assert(
      fc.asyncProperty(wire.nearlyValid, routeConfig, async (request, rc) => {
        assertValidOrProxyError(await parse(Buffer.from(toWire(request)), [], {}, { ...rc, limit: 1_000_000 }));
      }),
      { numRuns: RUNS },
    );
  });

  test('bodies already parsed by a body parser (express.json / text / raw)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(parsedValues.requestLike, parsedValues.anyValue, fc.string()), routeConfig, async (parsed, rc) => {
        const req: Req = new IncomingMessage(new Socket());
        req.headers = {};
        req.push(null);
        req.resume();
        await new Promise((resolve) => req.on('end', resolve));
        req.body = parsed;
        const config = validateConfig({
          route_type: rc.route,
          model: { provider: 'llama2', options: { llama2_format: rc.format, upstream_url: rc.url } },
          max_request_body_size: rc.limit,
        });
        let out: unknown;
        try {
          const llmReq = toLlmRequest(await readJsonBody(req, config.max_request_body_size), config);
          out = JSON.stringify(
            getFormat(rc.format).toUpstream(llmReq, {
              routeType: config.route_type,
              format: rc.format,
              rawDialect: rawDialectFor(new URL(rc.url).pathname, 'auto'),
            }),
          );
        } catch (err) {
          out = err;
        }
        assertValidOrProxyError(out);
      }),
      { numRuns: RUNS },
    );
  });
});
