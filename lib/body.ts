import type { IncomingMessage } from 'node:http';
import { ProxyError } from './errors';
import { requestDecoder } from './request-body/content-encoding';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './request-body/json-depth';

type RequestWithBody = IncomingMessage & { body?: unknown };

/**
 * The JSON object the client sent. Uses `req.body` when a body parser already consumed the
 * stream, else reads the stream itself within `limit` bytes (decoded size, after a gzip/deflate/br
 * `Content-Encoding` is inflated) and, when `timeoutMs` is given, within that many milliseconds.
 * Bodies nested deeper than `MAX_JSON_DEPTH` are refused either way.
 */
export function readJsonBody(req: RequestWithBody, limit: number, timeoutMs?: number): Promise<Record<string, unknown>> | Record<string, unknown> {
  // A body parser may have allowed more than this route does.
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw tooLarge(limit);

  const parsed = req.body;
  if (parsed !== undefined && req.readableEnded) return fromParsed(parsed, limit);

  const decoder = requestDecoder(req.headers['content-encoding']);
  return new Promise((resolve, reject) => {
    const source = decoder ?? req;
    const chunks: Buffer[] = [];
    let size = 0;
    let received = 0;
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: ProxyError) => {
      cleanup();
      reject(err);
    };
    // The raw bytes count too: a compressed body that inflates to little must still end.
    const onRaw = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(tooLarge(limit));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        fail(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      // Read to the end: 'data' and 'end' cannot come again, and a late 'error' finds the promise
      // settled, so the listeners stay (removing three costs measurable time per request).
      if (decoder) cleanup();
      else if (timer !== undefined) clearTimeout(timer);
      try {
        resolve(parseObject(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    };
    const onError = () => fail(new ProxyError(400, 'the request body could not be read'));
    const onDecodeError = () =>
      fail(new ProxyError(400, 'the request body could not be decoded as its Content-Encoding says', 'invalid_request_error', 'invalid_encoding'));
    const cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      req.off('error', onError);
      source.off('data', onData);
      source.off('end', onEnd);
      if (decoder) {
        req.off('data', onRaw);
        decoder.off('error', onDecodeError);
        req.unpipe(decoder);
        decoder.destroy();
      }
    };
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          fail(
            new ProxyError(408, `the request body did not arrive within ${timeoutMs} ms (request_body_timeout)`, 'invalid_request_error', 'request_timeout'),
          ),
        timeoutMs,
      );
    }
    req.on('error', onError);
    source.on('data', onData);
    source.on('end', onEnd);
    if (decoder) {
      decoder.on('error', onDecodeError);
      req.on('data', onRaw);
      req.pipe(decoder);
    }
  });
}

function fromParsed(parsed: unknown, limit: number): Record<string, unknown> {
  if (typeof parsed === 'string' || Buffer.isBuffer(parsed)) {
    if (Buffer.byteLength(parsed) > limit) throw tooLarge(limit);
    return parseObject(parsed.toString());
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    if (exceedsJsonDepth(parsed)) throw tooDeep();
    return parsed as Record<string, unknown>;
  }
  throw new ProxyError(400, 'the request body must be a JSON object');
}

function parseObject(text: string): Record<string, unknown> {
  // A UTF-8 byte order mark, as some Windows tools write it (express.json() skips it too).
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) throw new ProxyError(400, 'the request body is empty: expected a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // V8's message quotes the body; keep client text out of error bodies.
    throw new ProxyError(400, 'the request body is not valid JSON: expected a JSON object', 'invalid_request_error', 'invalid_json');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProxyError(400, 'the request body must be a JSON object');
  }
  if (exceedsJsonDepth(value)) throw tooDeep();
  return value as Record<string, unknown>;
}

function tooDeep(): ProxyError {
  return new ProxyError(400, `the request body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels`, 'invalid_request_error', 'json_too_deep');
}

function tooLarge(limit: number): ProxyError {
  return new ProxyError(
    413,
    `the request body is larger than the ${limit} bytes this route accepts (max_request_body_size)`,
    'invalid_request_error',
    'request_too_large',
  );
}
