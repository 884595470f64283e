import Joi from 'joi';
import { validateConfig } from '../config';
import { AiProxyConfigError, type ConfigProblem } from '../errors';
import type { AiProxyConfig } from '../types';

/** One route in the Kong docs' YAML shape. */
export interface KongRouteSpec {
  /** Unique route name, e.g. `llama2-chat`. */
  name: string;
  /** Paths: a prefix (`/llama2`), or a regex after `~` (`~/llama2-chat$`), matched from the start of the path. */
  paths: string[];
  /** HTTP methods the route takes; all when absent. */
  methods?: string[];
  /** `[{ name: 'ai-proxy', config }]`: the config is an `aiProxy()` config. Empty: the route exists without a plugin yet. */
  plugins?: { name: 'ai-proxy'; config: AiProxyConfig }[];
  /** Kong's service reference; accepted and ignored (the plugin sets the upstream). */
  service?: unknown;
  tags?: string[];
}

/** A routes document: one route (the docs' YAML), `{ routes: [...] }` (decK, optionally under `services[].routes`), or an array. */
export type KongRoutesDocument =
  KongRouteSpec | KongRouteSpec[] | { _format_version?: string; routes?: KongRouteSpec[]; services?: { name?: string; routes?: KongRouteSpec[] }[] };

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const routeSchema = Joi.object({
  id: Joi.string(),
  name: Joi.string()
    .pattern(/^[A-Za-z0-9._~-]+$/, 'route name')
    .required(),
  paths: Joi.array()
    .items(Joi.string().pattern(/^(~|\/)/, 'path starting with "/" or "~"'))
    .min(1)
    .required(),
  methods: Joi.array().items(Joi.string().valid(...METHODS)),
  plugins: Joi.array()
    .items(Joi.object({ name: Joi.string().valid('ai-proxy').required(), config: Joi.object().required(), id: Joi.string(), enabled: Joi.boolean() }))
    .max(1),
  service: Joi.any(),
  tags: Joi.array().items(Joi.string()),
  protocols: Joi.array().items(Joi.string().valid('http', 'https')),
  strip_path: Joi.boolean().valid(true),
});

/** The route specs of a document, in order. */
function routesOf(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (typeof doc === 'object' && doc !== null) {
    const d = doc as Record<string, unknown>;
    if ('routes' in d || 'services' in d) {
      const own: unknown[] = Array.isArray(d.routes) ? d.routes : [];
      const nested = Array.isArray(d.services)
        ? d.services.flatMap((s) =>
            typeof s === 'object' && s !== null && Array.isArray((s as { routes?: unknown }).routes) ? (s as { routes: unknown[] }).routes : [],
          )
        : [];
      return [...own, ...nested];
    }
    return [doc];
  }
  return [];
}

/**
 * Validates a routes document: each route's own fields with a small schema, its ai-proxy `config`
 * with the same joi schema as `aiProxy()`. Every problem is listed at once, named by route and
 * field (`routes[0] (llama2-chat): plugins[0].config.model.options.upstream_url …`).
 */
export function parseKongRoutes(doc: unknown): KongRouteSpec[] {
  const routes = routesOf(doc);
  const problems: ConfigProblem[] = [];
  if (routes.length === 0) problems.push({ path: 'routes', message: 'the routes document has no route: expected {name, paths, plugins} or {routes: [...]}' });
  const names = new Set<string>();
  routes.forEach((route, i) => {
    const label = `routes[${i}]${typeof (route as { name?: unknown })?.name === 'string' ? ` (${(route as { name: string }).name})` : ''}`;
    const { error } = routeSchema.validate(route, { abortEarly: false, convert: false });
    for (const d of error?.details ?? []) {
      const field = d.path.join('.') || '(route)';
      problems.push({ path: `routes[${i}].${field}`, message: `${label}: ${field} ${d.message.replace(/^"[^"]*" /, '')}` });
    }
    if (error) return;
    const r = route as KongRouteSpec;
    if (names.has(r.name)) problems.push({ path: `routes[${i}].name`, message: `${label}: name "${r.name}" is used by another route` });
    names.add(r.name);
    r.paths.forEach((p, j) => {
      if (!p.startsWith('~')) return;
      try {
        new RegExp(p.slice(1));
      } catch (err) {
        problems.push({ path: `routes[${i}].paths[${j}]`, message: `${label}: paths[${j}] is not a valid regex: ${(err as Error).message}` });
      }
    });
    (r.plugins ?? []).forEach((plugin, j) => {
      try {
        validateConfig(plugin.config);
      } catch (err) {
        if (!(err instanceof AiProxyConfigError)) throw err;
        for (const d of err.details)
          problems.push({ path: `routes[${i}].plugins[${j}].config.${d.path}`, message: `${label}: plugins[${j}].config.${d.message}` });
      }
    });
  });
  if (problems.length > 0) throw new AiProxyConfigError(problems);
  return routes as KongRouteSpec[];
}
