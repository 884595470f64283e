import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { ProxyError } from '../errors';

/**
 * The decoder for a request's `Content-Encoding`, as `express.json()` accepts them: none for no
 * header or `identity`; gzip, deflate (zlib) and br are inflated; anything else (or a list of
 * encodings) is a 415.
 */
export function requestDecoder(contentEncoding: string | undefined): Transform | undefined {
  if (contentEncoding === undefined) return undefined;
  const encoding = contentEncoding.trim().toLowerCase();
  switch (encoding) {
    case '':
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      throw new ProxyError(
        415,
        `unsupported Content-Encoding "${encoding.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}": send the body as is, or gzip, deflate or br`,
        'invalid_request_error',
        'unsupported_content_encoding',
      );
  }
}
