import type { IncomingMessage } from 'node:http';
import type { ResolvedConfig } from '../config';
import { AiProxyConfigError, ProxyError, type ConfigProblem } from '../errors';

/** Kong's template sources: `$(headers.NAME)`, `$(uri_captures.NAME)`, `$(query_params.NAME)`. */
export type TemplateSource = 'headers' | 'uri_captures' | 'query_params';

// Linear: no nested quantifiers; run on config strings only, never on client text.
const TEMPLATE = /\$\(([a-z_]+)\.([A-Za-z0-9_.-]+)\)/g;
const SOURCES = new Set<string>(['headers', 'uri_captures', 'query_params']);
const MAX_VALUE = 256;

type Part = string | { source: TemplateSource; name: string; ref: string };

/** A config string split into literal text and template references. */
function parse(text: string, path: string, problems: ConfigProblem[]): Part[] | undefined {
  if (!text.includes('$(')) return undefined;
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(TEMPLATE)) {
    if (!SOURCES.has(m[1]!)) {
      problems.push({ path, message: `${path}: unknown template source "${m[1]}" in ${m[0]} (use headers, uri_captures or query_params)` });
      continue;
    }
    parts.push(text.slice(last, m.index), { source: m[1] as TemplateSource, name: m[2]!, ref: m[0] });
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return parts.filter((p) => p !== '');
}

/** The authority of an absolute URL (`user@host:port`), as written. */
function authorityOf(url: string): string {
  const start = url.indexOf('://');
  const rest = start === -1 ? url : url.slice(start + 3);
  const end = rest.search(/[/?#]/);
  return end === -1 ? rest : rest.slice(0, end);
}

type Req = IncomingMessage & { params?: Record<string, unknown> };

function valueOf(req: Req, source: TemplateSource, name: string, query: () => URLSearchParams): string | undefined {
  let v: unknown;
  if (source === 'headers') v = req.headers[name.toLowerCase()];
  else if (source === 'query_params') v = query().get(name) ?? undefined;
  else v = req.params?.[name];
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** What a templated route resolves to for one request. */
export interface ResolvedTemplates {
  /** The config with `model.name` filled in (same object when the name has no template). */
  config: ResolvedConfig;
  basePath: string;
  streamPath: string;
}

/** A route's templates, compiled once. */
export interface RouteTemplates {
  /** Fills the templates from the request; a missing or unusable value is a 400 naming it. */
  resolve(req: IncomingMessage): ResolvedTemplates;
}

/**
 * Compiles the templates of `model.name` and `upstream_url` (path and query only: the host never
 * comes from a request, so a client cannot point the proxy at a server of its choosing). Returns
 * undefined when the route has none (the common case costs nothing per request). `finishPath`
 * turns an upstream path into the base and stream paths the route sends (stream suffix, query auth).
 */
export function compileTemplates(
  config: ResolvedConfig,
  finishPath: (pathAndQuery: string) => { basePath: string; streamPath: string },
): RouteTemplates | undefined {
  const problems: ConfigProblem[] = [];
  const url = config.model.options.upstream_url;
  if (authorityOf(url).includes('$(')) {
    problems.push({
      path: 'model.options.upstream_url',
      message: `model.options.upstream_url: the host of upstream_url cannot come from a template (that would let a client choose the server); templates are allowed in its path and query only, got ${JSON.stringify(url)}`,
    });
  }
  const nameParts = config.model.name === undefined ? undefined : parse(config.model.name, 'model.name', problems);
  const start = url.indexOf('://') + 3;
  const slash = url.slice(start).search(/[/?#]/);
  const pathAndQuery = slash === -1 ? '/' : url.slice(start + slash).replace(/#.*$/, '');
  const urlParts = parse(pathAndQuery, 'model.options.upstream_url', problems);
  if (problems.length > 0) throw new AiProxyConfigError(problems);
  if (!nameParts && !urlParts) return undefined;

  const fill = (parts: Part[], req: Req, field: string, query: () => URLSearchParams, inUrl: boolean): string => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') {
        out += p;
        continue;
      }
      const v = valueOf(req, p.source, p.name, query);
      if (v === undefined) {
        const how =
          p.source === 'headers'
            ? `send the header ${p.name}`
            : p.source === 'query_params'
              ? `add ?${p.name}= to the URL`
              : `the route path must capture "${p.name}"`;
        throw new ProxyError(400, `${field} uses ${p.ref}, which has no value in this request: ${how}`, 'invalid_request_error', 'template_value_missing');
      }
      // eslint-disable-next-line no-control-regex
      if (v.length > MAX_VALUE || /[\x00-\x1f\x7f]/.test(v) || (inUrl && (v === '.' || v === '..'))) {
        throw new ProxyError(
          400,
          `${field}: the value of ${p.ref} is not usable (too long, control characters, or a dot segment)`,
          'invalid_request_error',
          'template_value_invalid',
        );
      }
      out += inUrl ? encodeURIComponent(v) : v;
    }
    return out;
  };

  let fixedPaths: { basePath: string; streamPath: string } | undefined;
  return {
    resolve(req: IncomingMessage): ResolvedTemplates {
      let params: URLSearchParams | undefined;
      const query = () => (params ??= new URLSearchParams((req.url ?? '').split('?')[1] ?? ''));
      const config2 = nameParts ? { ...config, model: { ...config.model, name: fill(nameParts, req, 'model.name', query, false) } } : config;
      const paths = urlParts ? finishPath(fill(urlParts, req, 'model.options.upstream_url', query, true)) : (fixedPaths ??= finishPath(pathAndQuery));
      return { config: config2, ...paths };
    },
  };
}
