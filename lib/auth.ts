import type { ClientRequest, IncomingHttpHeaders } from 'node:http';
import type { ResolvedConfig } from './config';

type Auth = ResolvedConfig['auth'];

/** Sets the configured header upstream, unless the client sent its own and overriding is allowed. */
export function applyAuthHeader(proxyReq: ClientRequest, clientHeaders: IncomingHttpHeaders, auth: Auth): void {
  if (auth.header_name === undefined || auth.header_value === undefined) return;
  if (auth.allow_override && clientHeaders[auth.header_name.toLowerCase()] !== undefined) return;
  proxyReq.setHeader(auth.header_name, auth.header_value);
}

/** Adds the configured body parameter to the upstream body (the client's own value wins only with allow_override). */
export function applyAuthBody(upstreamBody: Record<string, unknown>, clientBody: Record<string, unknown>, auth: Auth): void {
  if (auth.param_location !== 'body' || auth.param_name === undefined) return;
  const own = clientBody[auth.param_name];
  upstreamBody[auth.param_name] = auth.allow_override && own !== undefined ? own : auth.param_value;
}

/**
 * The upstream path with the configured query parameter. Returns `basePath` untouched when no
 * query auth is configured. The client's own value is used only with allow_override.
 */
export function withAuthQuery(basePath: string, clientUrl: string | undefined, auth: Auth): string {
  if (auth.param_location !== 'query' || auth.param_name === undefined || auth.param_value === undefined) return basePath;
  let value = auth.param_value;
  if (auth.allow_override && clientUrl !== undefined) {
    const q = clientUrl.indexOf('?');
    const own = q === -1 ? null : new URLSearchParams(clientUrl.slice(q + 1)).get(auth.param_name);
    if (own !== null) value = own;
  }
  // The upstream URL's own query is kept byte for byte; only a pair with our name is replaced.
  const [pathname, query = ''] = splitOnce(basePath, '?');
  const name = auth.param_name;
  const ours = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
  let replaced = false;
  const pairs = query === '' ? [] : query.split('&');
  for (let i = 0; i < pairs.length; i++) {
    if (decodeKey(pairs[i]!) === name) {
      pairs[i] = ours;
      replaced = true;
    }
  }
  if (!replaced) pairs.push(ours);
  return `${pathname}?${pairs.join('&')}`;
}

function decodeKey(pair: string): string {
  const key = splitOnce(pair, '=')[0].replace(/\+/g, ' ');
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/** Whether the upstream path depends on the client's request (so it must be computed per request). */
export function queryAuthIsPerRequest(auth: Auth): boolean {
  return auth.param_location === 'query' && auth.allow_override;
}

const secretLists = new WeakMap<Auth, string[]>();

/** Every configured secret, so they can be kept out of anything logged or echoed (one list per auth config, so its redactor is built once). */
export function secretsOf(auth: Auth): string[] {
  let list = secretLists.get(auth);
  if (list === undefined) {
    list = [auth.header_value, auth.param_value].filter((s): s is string => typeof s === 'string' && s.length > 0);
    secretLists.set(auth, list);
  }
  return list;
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i === -1 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}
