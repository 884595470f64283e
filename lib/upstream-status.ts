import { ProxyError } from './errors';

/**
 * Whether an upstream status can be relayed to the client as a final answer: 2xx, 4xx, 5xx.
 * 1xx (101 would hand over the socket), 3xx (a redirect or 304 means nothing to an API client of
 * the proxy) and out-of-range codes (`099`, `000`, `600`: Node's writeHead throws on some) become 502.
 */
export function isRelayableStatus(status: number | undefined): status is number {
  return status !== undefined && Number.isInteger(status) && ((status >= 200 && status < 300) || (status >= 400 && status < 600));
}

/** The answer to an upstream status that cannot be relayed: 502 `bad_upstream_status`. */
export function badUpstreamStatusError(status: number | undefined): ProxyError {
  return new ProxyError(
    502,
    `the upstream answered with HTTP status ${status}, which is not a final answer the proxy can relay`,
    'api_error',
    'bad_upstream_status',
  );
}
