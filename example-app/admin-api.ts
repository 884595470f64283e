/**
 * The Kong docs' admin calls, for the example app only (port 8001, loopback by default, no auth:
 * whoever reaches it controls the routes). Routes and plugins take effect at once.
 *
 *   POST   /services/:service/routes     name, paths[] (, methods[])     → 201 route
 *   POST   /routes/:route/plugins        name=ai-proxy, config.… fields  → 201 plugin, 400 with the schema's messages
 *   GET    /routes, /routes/:route, /routes/:route/plugins
 *   DELETE /routes/:route, /routes/:route/plugins/:plugin, /plugins/:plugin
 *
 * Bodies may be form-encoded with the docs' flattened `config.model.options.…` keys (numbers and
 * booleans are converted where the schema expects them) or JSON.
 */
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { AiProxyConfigError, coerceConfig, configWarnings, type AiProxyConfig, type KongRoutes, type KongRoute } from '../lib';

export interface AdminOptions {
  /** Called with each config before it is used (the example app points the docs' placeholder hosts somewhere real). */
  rewrite?: (config: AiProxyConfig) => AiProxyConfig;
  /** Where warnings about a config go (defaults to console.warn). */
  warn?: (message: string) => void;
}

/** `a.b.c=1` form fields as `{a: {b: {c: '1'}}}`; `x[]` as an array. */
export function unflatten(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const isArray = key.endsWith('[]');
    const parts = (isArray ? key.slice(0, -2) : key).split('.');
    if (parts.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    let node = out;
    for (const p of parts.slice(0, -1)) {
      if (typeof node[p] !== 'object' || node[p] === null || Array.isArray(node[p])) node[p] = {};
      node = node[p] as Record<string, unknown>;
    }
    const last = parts[parts.length - 1]!;
    node[last] = isArray ? (Array.isArray(value) ? value : [value]) : value;
  }
  return out;
}

function kongError(res: Response, status: number, message: string, fields?: Record<string, string>): void {
  res.status(status).json({
    message,
    name: status === 400 ? 'schema violation' : status === 409 ? 'unique constraint violation' : 'not found',
    code: status === 400 ? 2 : status === 409 ? 5 : 3,
    ...(fields ? { fields } : {}),
  });
}

const ids = new WeakMap<object, string>();
function idOf(o: object): string {
  let id = ids.get(o);
  if (!id) ids.set(o, (id = randomUUID()));
  return id;
}

function redacted(config: AiProxyConfig): AiProxyConfig {
  if (!config.auth) return config;
  const auth = { ...config.auth };
  if (auth.header_value !== undefined) auth.header_value = '[redacted]';
  if (auth.param_value !== undefined) auth.param_value = '[redacted]';
  return { ...config, auth };
}

/** The admin app over a routes table. */
export function adminApi(table: KongRoutes, opts: AdminOptions = {}): express.Express {
  const warn = opts.warn ?? ((m: string) => console.warn(`warning: ${m}`));
  const routeIds = new Map<string, string>();
  const pluginIds = new Map<string, string>();
  const routeId = (name: string) => routeIds.get(name) ?? (routeIds.set(name, randomUUID()), routeIds.get(name)!);
  const find = (ref: string): KongRoute | undefined => table.get(ref) ?? table.list().find((r) => routeIds.get(r.spec.name) === ref);
  const routeJson = (r: KongRoute) => ({
    id: routeId(r.spec.name),
    name: r.spec.name,
    paths: r.spec.paths,
    methods: r.spec.methods ?? null,
    protocols: ['http', 'https'],
    strip_path: true,
    service: r.spec.service ?? null,
  });
  const pluginJson = (r: KongRoute) => {
    const plugin = r.spec.plugins?.[0];
    if (!plugin) return undefined;
    return {
      id: pluginIds.get(r.spec.name) ?? idOf(plugin),
      name: 'ai-proxy',
      enabled: true,
      route: { id: routeId(r.spec.name) },
      config: redacted(plugin.config),
    };
  };
  const failed = (res: Response, err: unknown) => {
    if (!(err instanceof AiProxyConfigError)) throw err;
    kongError(res, 400, err.details.map((d) => d.message).join('; '), Object.fromEntries(err.details.map((d) => [d.path, d.message])));
  };

  const app = express();
  app.use(express.urlencoded({ extended: false, limit: '64kb' }), express.json({ limit: '64kb' }));

  app.get('/', (_req, res) => {
    res.json({ tagline: 'express-ai-proxy example admin API (Kong docs subset)', routes: table.list().length });
  });

  app.post('/services/:service/routes', (req: Request, res: Response) => {
    const body = unflatten(req.body ?? {});
    const name = body.name;
    if (typeof name === 'string' && table.get(name)) return kongError(res, 409, `UNIQUE violation detected on '{name="${name}"}'`);
    try {
      const route = table.add({
        name: name as string,
        paths: body.paths as string[],
        ...(body.methods ? { methods: body.methods as string[] } : {}),
        service: { name: req.params.service },
      });
      res.status(201).json(routeJson(route));
    } catch (err) {
      failed(res, err);
    }
  });

  app.post('/routes/:route/plugins', (req: Request, res: Response) => {
    const name = String(req.params.route);
    const route = find(name);
    if (!route) return kongError(res, 404, `route ${name} not found`);
    const body = unflatten(req.body ?? {});
    if (body.name !== 'ai-proxy')
      return kongError(res, 400, `only the ai-proxy plugin is available here, got ${JSON.stringify(body.name)}`, { name: 'must be ai-proxy' });
    if (route.spec.plugins?.length) return kongError(res, 409, `UNIQUE violation detected on '{name="ai-proxy",route={id="${routeId(route.spec.name)}"}}'`);
    try {
      let config = coerceConfig(body.config ?? {}) as AiProxyConfig;
      config = opts.rewrite ? opts.rewrite(config) : config;
      for (const w of configWarnings(config)) warn(`route ${route.spec.name}: ${w}`);
      const updated = table.setPlugin(route.spec.name, config)!;
      pluginIds.set(route.spec.name, randomUUID());
      res.status(201).json(pluginJson(updated));
    } catch (err) {
      failed(res, err);
    }
  });

  app.get('/routes', (_req, res) => {
    res.json({ data: table.list().map(routeJson), next: null });
  });
  app.get('/routes/:route', (req, res) => {
    const route = find(req.params.route);
    if (!route) return kongError(res, 404, 'Not found');
    res.json(routeJson(route));
  });
  app.get('/routes/:route/plugins', (req, res) => {
    const route = find(req.params.route);
    if (!route) return kongError(res, 404, 'Not found');
    const p = pluginJson(route);
    res.json({ data: p ? [p] : [], next: null });
  });
  app.delete('/routes/:route', (req, res) => {
    const route = find(req.params.route);
    if (!route) return kongError(res, 404, 'Not found');
    table.remove(route.spec.name);
    res.status(204).end();
  });
  const deletePlugin = (pluginId: string, res: Response, only?: KongRoute) => {
    const route = (only ? [only] : table.list()).find((r) => pluginJson(r)?.id === pluginId);
    if (!route) return kongError(res, 404, 'Not found');
    table.removePlugin(route.spec.name);
    pluginIds.delete(route.spec.name);
    res.status(204).end();
  };
  app.delete('/routes/:route/plugins/:plugin', (req, res) => {
    const route = find(req.params.route);
    if (!route) return kongError(res, 404, 'Not found');
    deletePlugin(req.params.plugin, res, route);
  });
  app.delete('/plugins/:plugin', (req, res) => deletePlugin(req.params.plugin, res));
  app.use((_req: Request, res: Response) => kongError(res, 404, 'Not found'));
  return app;
}
