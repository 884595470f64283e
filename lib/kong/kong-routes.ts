import type { IncomingMessage, ServerResponse } from 'node:http';
import { aiProxy, type AiProxyMiddleware } from '../ai-proxy';
import { ProxyError, sendError } from '../errors';
import { pathOf } from '../router/sub-path';
import type { AiProxyConfig } from '../types';
import { parseKongRoutes, type KongRouteSpec } from './spec';

type KongRequest = IncomingMessage & { baseUrl?: string; params?: Record<string, unknown> };

interface Matcher {
  /** Length of the matched start of the path, or -1; named regex captures when there are any. */
  match(path: string): { length: number; captures?: Record<string, string> } | undefined;
  regex: boolean;
  prefixLength: number;
}

function matcherOf(path: string): Matcher {
  if (path.startsWith('~')) {
    // Kong anchors a regex path at the start of the path (it is written as a full path).
    const re = new RegExp(`^(?:${path.slice(1)})`);
    return {
      regex: true,
      prefixLength: 0,
      match(p) {
        const m = re.exec(p);
        return m ? { length: m[0].length, captures: m.groups ? { ...m.groups } : undefined } : undefined;
      },
    };
  }
  return { regex: false, prefixLength: path.length, match: (p) => (p.startsWith(path) ? { length: path.length } : undefined) };
}

/** A route as the table keeps it. */
export interface KongRoute {
  spec: KongRouteSpec;
  handle: AiProxyMiddleware | undefined;
  matchers: Matcher[];
}

/**
 * Kong-style routes in front of `aiProxy`: each request goes to the first route whose method and
 * path match (regex paths first, in order, then prefix paths, longest first, as Kong does), with the
 * matched part stripped (`strip_path`) and the regex's named groups as `$(uri_captures.NAME)`.
 * Routes can be added and removed while serving (the example app's admin API does). Mount it with
 * `app.use(kongRoutes(spec))` or `app.use(loadRoutes(file))`. Regex paths come from your config and
 * run on client paths: keep them simple (no nested quantifiers).
 */
export class KongRoutes {
  private routes: KongRoute[] = [];

  constructor(doc?: unknown) {
    if (doc !== undefined) for (const spec of parseKongRoutes(doc)) this.add(spec);
  }

  /** Adds (or replaces, by name) a route; its plugin config is validated first. */
  add(spec: KongRouteSpec): KongRoute {
    const [checked] = parseKongRoutes(spec);
    const plugin = checked!.plugins?.[0];
    const route: KongRoute = { spec: checked!, handle: plugin ? aiProxy(plugin.config) : undefined, matchers: checked!.paths.map(matcherOf) };
    this.routes = [...this.routes.filter((r) => r.spec.name !== checked!.name), route];
    return route;
  }

  /** Sets the ai-proxy plugin of a route (validated; throws AiProxyConfigError). */
  setPlugin(name: string, config: AiProxyConfig): KongRoute | undefined {
    const route = this.get(name);
    if (!route) return undefined;
    return this.add({ ...route.spec, plugins: [{ name: 'ai-proxy', config }] });
  }

  removePlugin(name: string): boolean {
    const route = this.get(name);
    if (!route?.spec.plugins?.length) return false;
    this.add({ ...route.spec, plugins: [] });
    return true;
  }

  remove(name: string): boolean {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => r.spec.name !== name);
    return this.routes.length !== before;
  }

  get(name: string): KongRoute | undefined {
    return this.routes.find((r) => r.spec.name === name);
  }

  list(): KongRoute[] {
    return [...this.routes];
  }

  /** The middleware. */
  readonly handle = (req: KongRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    const path = pathOf(req.url);
    let best: { route: KongRoute; length: number; captures?: Record<string, string>; rank: number } | undefined;
    for (const route of this.routes) {
      if (route.spec.methods && !route.spec.methods.includes(req.method ?? '')) continue;
      for (const m of route.matchers) {
        const found = m.match(path);
        if (!found) continue;
        // Regex paths outrank prefix paths; among prefixes the longest wins; ties go to the first added.
        const rank = m.regex ? Number.MAX_SAFE_INTEGER : m.prefixLength;
        if (!best || rank > best.rank) best = { route, length: found.length, captures: found.captures, rank };
      }
    }
    if (!best) {
      next();
      return;
    }
    if (!best.route.handle) {
      sendError(res, new ProxyError(404, `the route ${best.route.spec.name} has no ai-proxy plugin yet`, 'invalid_request_error', 'no_plugin'));
      return;
    }
    const url = req.url ?? '/';
    const baseUrl = req.baseUrl;
    const params = req.params;
    const rest = url.slice(best.length);
    req.url = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
    req.baseUrl = `${baseUrl ?? ''}${path.slice(0, best.length)}`;
    req.params = { ...params, ...best.captures };
    best.route.handle(req, res, (err?: unknown) => {
      req.url = url;
      req.baseUrl = baseUrl;
      req.params = params;
      next(err);
    });
  };
}

/** A Kong routes middleware; `routes` is its table, for adding and removing routes while serving. */
export type KongRoutesMiddleware = AiProxyMiddleware & { routes: KongRoutes };

/** The table as a middleware to `app.use()`. */
export function asMiddleware(table: KongRoutes): KongRoutesMiddleware {
  return Object.assign((req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => table.handle(req, res, next), { routes: table });
}

/** Kong-style routes from a spec object in the docs' YAML shape (already parsed); none when omitted. */
export function kongRoutes(doc?: unknown): KongRoutesMiddleware {
  return asMiddleware(new KongRoutes(doc));
}
