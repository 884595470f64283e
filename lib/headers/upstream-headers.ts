import type { ClientRequest, IncomingHttpHeaders } from 'node:http';
import type { ResolvedConfig } from '../config';

/**
 * Client headers that never go upstream, whatever `forward_headers` says: the hop-by-hop headers of
 * RFC 9110 §7.6.1 (they describe the client's connection, not the request), and the framing of the
 * client's body, which the proxy re-serialises (`Content-Length` is set to the new body's).
 * `Accept-Encoding`: the proxy reads the answer itself and does not inflate it. `Expect`: Node has
 * already answered `100-continue`. `Host` is not listed: the transport sets the upstream's own.
 */
export const NEVER_FORWARDED: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'content-encoding',
  'accept-encoding',
  'expect',
];

/** Which client headers go upstream: a header in `deny` never does; `allow` lifts the default drops (`cookie`, `authorization`). */
export interface ForwardHeadersConfig {
  /** Client headers forwarded although the default policy drops them (`cookie`, `authorization`). Case-insensitive. */
  allow?: string[];
  /** Client headers never forwarded, in addition to the hop-by-hop and framing ones. Case-insensitive; wins over `allow`. */
  deny?: string[];
}

/** Removes, from an upstream request built from the client's headers, every header the route does not forward. */
export type UpstreamHeaderFilter = (proxyReq: ClientRequest, clientHeaders: IncomingHttpHeaders) => void;

/** The names a route drops, worked out once from its config. */
export function droppedHeaders(config: Pick<ResolvedConfig, 'auth' | 'forward_headers'>): Set<string> {
  const drop = new Set(NEVER_FORWARDED);
  const { auth } = config;
  const allow = new Set((config.forward_headers?.allow ?? []).map((h) => h.toLowerCase()));
  // The host app's session cookie is not the model server's business.
  if (!allow.has('cookie')) drop.add('cookie');
  // A route with credentials of its own: the client's Authorization is for the host app, not the upstream;
  // except when it is the very header the route's auth sets and the client may override it.
  const hasAuth = auth.header_name !== undefined || auth.param_name !== undefined;
  const clientOverridesIt = auth.allow_override && auth.header_name?.toLowerCase() === 'authorization';
  if (hasAuth && !clientOverridesIt && !allow.has('authorization')) drop.add('authorization');
  for (const h of config.forward_headers?.deny ?? []) drop.add(h.toLowerCase());
  return drop;
}

/** The route's upstream header policy (see the README's "Failure behaviour" and "Requests"). */
export function upstreamHeaderFilter(config: Pick<ResolvedConfig, 'auth' | 'forward_headers'>): UpstreamHeaderFilter {
  const drop = droppedHeaders(config);
  // Both routes set the re-serialised body's own Content-Length right after: setting replaces the
  // client's, so removing it first would be one more header operation for nothing.
  drop.delete('content-length');
  return (proxyReq, clientHeaders) => {
    // The upstream request's headers are the client's (plus Host): walking the client's object finds
    // the same names without building the request's list of names on every request.
    for (const name in clientHeaders) if (drop.has(name)) proxyReq.removeHeader(name);
    // `Connection: close, x-foo` makes x-foo hop-by-hop too.
    const connection = clientHeaders.connection;
    if (connection === undefined) return;
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      // Only a header the client sent can be on the upstream request (`keep-alive`, `close` are not).
      if (name !== '' && !drop.has(name) && Object.hasOwn(clientHeaders, name)) proxyReq.removeHeader(name);
    }
  };
}
