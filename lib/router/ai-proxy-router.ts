import type { IncomingMessage, ServerResponse } from 'node:http';
import { aiProxy, type AiProxyMiddleware } from '../ai-proxy';
import { readJsonBody } from '../body';
import { validateConfig } from '../config';
import { AiProxyConfigError, ProxyError, sendError, type ConfigProblem } from '../errors';
import type { AiProxyConfig, RouteType } from '../types';
import { OPENAI_PATHS, pathOf, unknownPathError } from './sub-path';

/** One route of an `aiProxyRouter`: an `aiProxy` config whose `model.name` clients select it by. */
export interface AiProxyRouterRoute extends AiProxyConfig {
  /** Other names clients may send for this model (e.g. `gpt-4o-mini` for a client that insists on one). */
  aliases?: string[];
}

/** What `aiProxyRouter()` takes. */
export interface AiProxyRouterOptions {
  /**
   * The routes, each with a `model.name`: chat, completions and embeddings routes for as many models
   * as you like. The request's `model` picks the route of the operation called.
   */
  routes: AiProxyRouterRoute[];
  /** Path of the health route (`GET`, answers `{"status":"ok"}`). Defaults to `/health`; `false` turns it off. */
  health_path?: string | false;
}

interface Entry {
  name: string;
  handle: AiProxyMiddleware;
}

type RouterRequest = IncomingMessage & { body?: unknown; baseUrl?: unknown };

const OPERATIONS = new Map<string, RouteType>((Object.keys(OPENAI_PATHS) as RouteType[]).map((t) => [OPENAI_PATHS[t], t]));

/**
 * OpenAI's surface for a set of models behind one `baseURL`: `POST /chat/completions`,
 * `/completions`, `/embeddings`, `GET /models` (the configured models and their aliases) and a
 * health route. The request's `model` picks the route config; an unknown model is a 404
 * `model_not_found`. Every route config is validated here, once; problems are named by route.
 *
 * @example
 * app.use('/v1', aiProxyRouter({ routes: [
 *   { route_type: 'llm/v1/chat', model: { provider: 'llama2', name: 'llama2',
 *     options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/chat' } } },
 *   { route_type: 'llm/v1/embeddings', model: { provider: 'llama2', name: 'nomic-embed-text',
 *     options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/embed' } } },
 * ] }));
 */
export function aiProxyRouter(options: AiProxyRouterOptions): AiProxyMiddleware {
  const byType = new Map<RouteType, Map<string, Entry>>();
  const models: string[] = [];
  let bodyLimit = 0;
  const problems: ConfigProblem[] = [];
  const routes = Array.isArray(options?.routes) ? options.routes : [];
  if (routes.length === 0) problems.push({ path: 'routes', message: 'routes must be a non-empty array of aiProxy configs' });
  routes.forEach((route, i) => {
    const { aliases = [], ...config } = route ?? ({} as AiProxyRouterRoute);
    let handle: AiProxyMiddleware;
    let resolved;
    try {
      resolved = validateConfig(config);
      handle = aiProxy(config);
    } catch (err) {
      if (!(err instanceof AiProxyConfigError)) throw err;
      for (const d of err.details) problems.push({ path: `routes[${i}].${d.path}`, message: `routes[${i}].${d.message}` });
      return;
    }
    const name = resolved.model.name;
    if (name === undefined) {
      problems.push({ path: `routes[${i}].model.name`, message: `routes[${i}].model.name is required in a router: clients pick the route by it` });
      return;
    }
    if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === 'string' && a !== '')) {
      problems.push({ path: `routes[${i}].aliases`, message: `routes[${i}].aliases must be an array of model names` });
      return;
    }
    const table = byType.get(resolved.route_type) ?? new Map<string, Entry>();
    byType.set(resolved.route_type, table);
    for (const id of [name, ...aliases]) {
      if (table.has(id)) {
        problems.push({ path: `routes[${i}]`, message: `routes[${i}]: model "${id}" already has a ${resolved.route_type} route` });
        continue;
      }
      table.set(id, { name, handle });
      if (!models.includes(id)) models.push(id);
    }
    bodyLimit = Math.max(bodyLimit, resolved.max_request_body_size);
  });
  const health = options?.health_path === undefined ? '/health' : options.health_path;
  if (health !== false && (typeof health !== 'string' || !health.startsWith('/'))) {
    problems.push({ path: 'health_path', message: 'health_path must be a path starting with "/", or false' });
  }
  if (problems.length > 0) throw new AiProxyConfigError(problems);

  const created = Math.floor(Date.now() / 1000);
  const modelObject = (id: string) => ({ id, object: 'model', created, owned_by: 'express-ai-proxy' });
  const list = JSON.stringify({ object: 'list', data: models.map(modelObject) });

  const dispatch = (req: RouterRequest, res: ServerResponse, next: (err?: unknown) => void, type: RouteType): void => {
    const body = readJsonBody(req, bodyLimit);
    const pick = (b: Record<string, unknown>) => {
      const table = byType.get(type);
      if (!table)
        throw new ProxyError(
          404,
          `no model is served for ${OPENAI_PATHS[type]} (${type}) here. Models: GET ${mountedAt(req)}/models`,
          'invalid_request_error',
          'model_not_found',
        );
      const requested = b.model;
      let entry: Entry | undefined;
      if (requested === undefined || requested === null || requested === '') {
        // One model for this operation: a client that names none gets it.
        const names = new Set([...table.values()].map((e) => e.name));
        if (names.size === 1) entry = table.values().next().value;
        else
          throw new ProxyError(
            400,
            `"model" is required: one of ${[...table.keys()].map((m) => JSON.stringify(m)).join(', ')}`,
            'invalid_request_error',
            'missing_model',
          );
      } else if (typeof requested !== 'string') {
        throw new ProxyError(400, '"model" must be a string');
      } else {
        entry = table.get(requested);
        if (!entry) {
          const elsewhere = models.includes(requested) ? ` (it has no ${type} route here)` : '';
          throw new ProxyError(
            404,
            `The model \`${requested}\` does not exist${elsewhere}. Models: GET ${mountedAt(req)}/models`,
            'invalid_request_error',
            'model_not_found',
          );
        }
      }
      // The route sees its own model name, so Kong's "cannot use own model" rule holds for aliases too.
      b.model = entry!.name;
      req.body = b;
      entry!.handle(req, res, next);
    };
    if (body instanceof Promise) body.then(pick).catch((err) => fail(res, err));
    else pick(body);
  };

  return (req: RouterRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    try {
      const path = pathOf(req.url);
      const type = OPERATIONS.get(path);
      const read = req.method === 'GET' || req.method === 'HEAD';
      if (type && req.method === 'POST') dispatch(req, res, next, type);
      else if (read && path === '/models') sendJson(res, list);
      else if (read && path.startsWith('/models/')) {
        let id: string;
        try {
          id = decodeURIComponent(path.slice('/models/'.length));
        } catch {
          id = path.slice('/models/'.length);
        }
        if (models.includes(id)) sendJson(res, JSON.stringify(modelObject(id)));
        else sendError(res, new ProxyError(404, `The model \`${id}\` does not exist`, 'invalid_request_error', 'model_not_found'));
      } else if (read && health !== false && path === health) sendJson(res, '{"status":"ok"}');
      else if (type || path === '/models')
        sendError(res, new ProxyError(405, `${req.method} is not allowed on ${mountedAt(req)}${path}`, 'invalid_request_error', 'method_not_allowed'));
      else sendError(res, unknownPathError(path, mountedAt(req)));
    } catch (err) {
      fail(res, err);
    }
  };
}

/** Where Express mounted the router (`req.baseUrl`); empty outside Express. */
function mountedAt(req: RouterRequest): string {
  return typeof req.baseUrl === 'string' ? req.baseUrl : '';
}

function sendJson(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function fail(res: ServerResponse, err: unknown): void {
  // The rest of a refused oversized body is not read: the connection cannot be reused.
  if (err instanceof ProxyError && err.status === 413) res.setHeader('connection', 'close');
  sendError(res, err instanceof ProxyError ? err : new ProxyError(500, 'internal error in express-ai-proxy', 'api_error'));
}
