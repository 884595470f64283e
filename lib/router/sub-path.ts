import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../errors';
import type { RouteType } from '../types';

/** The OpenAI path of each route type, as an SDK appends it to its `baseURL`. */
export const OPENAI_PATHS: Readonly<Record<RouteType, string>> = {
  'llm/v1/chat': '/chat/completions',
  'llm/v1/completions': '/completions',
  'llm/v1/embeddings': '/embeddings',
};

type MountedRequest = IncomingMessage & { baseUrl?: unknown; route?: unknown; originalUrl?: unknown };

/** The request path without its query, and without a trailing slash (except the root). */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path || '/';
}

/**
 * Under `app.use(mount, aiProxy(…))` the route answers its mount path and the OpenAI path of its
 * route type (also under `/v1`); anything else is a 404 with a hint, not a request read as the wrong operation (the AI
 * SDK's default `openai(…)` posts to `/responses`, which would otherwise get "expects messages").
 * A route registered with `app.post(path, …)` (Express matched the whole path) or served by plain
 * `http` is not checked: there the path is the caller's business.
 */
export function subPathError(req: IncomingMessage, routeType: RouteType): ProxyError | undefined {
  const r = req as MountedRequest;
  if (r.route !== undefined || typeof r.baseUrl !== 'string') return undefined;
  const path = pathOf(req.url);
  // `<mount>/v1/…` too: a baseURL that ends in /v1 out of habit should not be a 404.
  const own = OPENAI_PATHS[routeType];
  if (path === '/' || path === own || path === `/v1${own}`) return undefined;
  return unknownPathError(path, r.baseUrl, routeType);
}

/** The 404 for a path nothing here serves, saying what would work instead. */
export function unknownPathError(path: string, base: string, routeType?: RouteType): ProxyError {
  const full = `${base}${path}`;
  let hint: string;
  if (path === '/responses' || path.startsWith('/responses/')) {
    hint = `the OpenAI Responses API (${full}) is not supported: use Chat Completions (POST ${base}/chat/completions), e.g. the AI SDK's openai.chat('model') instead of openai('model')`;
  } else if (routeType) {
    const other = (Object.keys(OPENAI_PATHS) as RouteType[]).find((t) => OPENAI_PATHS[t] === path);
    hint = other
      ? `${full} is the path of ${other}, but this route is ${routeType}: it answers POST ${base || '/'} and POST ${base}${OPENAI_PATHS[routeType]}`
      : `no route at ${full}: this ${routeType} route answers POST ${base || '/'} and POST ${base}${OPENAI_PATHS[routeType]}`;
  } else {
    hint = `no route at ${full}: this API serves POST ${base}/chat/completions, ${base}/completions, ${base}/embeddings and GET ${base}/models`;
  }
  return new ProxyError(404, hint, 'invalid_request_error', 'unknown_url');
}
