import type { IncomingMessage } from 'node:http';
import { ProxyError } from './errors';

type RequestWithBody = IncomingMessage & { body?: unknown };

/**
 * The JSON object the client sent. Uses `req.body` when a body parser already consumed the
 * stream, else reads the stream itself within `limit` bytes.
 */
export function readJsonBody(req: RequestWithBody, limit: number): Promise<Record<string, unknown>> | Record<string, unknown> {
  // A body parser may have allowed more than this route does.
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw tooLarge(limit);

  const parsed = req.body;
  if (parsed !== undefined && req.readableEnded) return fromParsed(parsed, limit);

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      try {
        resolve(parseObject(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    };
    const onError = () => {
      cleanup();
      reject(new ProxyError(400, 'the request body could not be read'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function fromParsed(parsed: unknown, limit: number): Record<string, unknown> {
  if (typeof parsed === 'string' || Buffer.isBuffer(parsed)) {
    if (Buffer.byteLength(parsed) > limit) throw tooLarge(limit);
    return parseObject(parsed.toString());
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    return parsed as Record<string, unknown>;
  }
  throw new ProxyError(400, 'the request body must be a JSON object');
}

function parseObject(text: string): Record<string, unknown> {
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
  return value as Record<string, unknown>;
}

function tooLarge(limit: number): ProxyError {
  return new ProxyError(413, `the request body is larger than the ${limit} bytes this route accepts (max_request_body_size)`, 'invalid_request_error', 'request_too_large');
}
