import { Agent as HttpAgent } from 'node:http';
import Joi from 'joi';
import { ollamaKnobsSchema, type OllamaKnobs } from './contract/ollama-knobs';
import { AiProxyConfigError, type ConfigProblem } from './errors';
import { NEVER_FORWARDED, type ForwardHeadersConfig } from './headers/upstream-headers';
import { observabilitySchema, type ResolvedObservability } from './observability/config';
import type { AiProxyConfig, AuthConfig, Llama2Format, LoggingConfig, RawDialect, RouteType } from './types';

/** The config after validation: every default filled in, the short form folded into `model.options`. */
export interface ResolvedConfig {
  route_type: RouteType;
  model: {
    provider: 'llama2';
    name: string | undefined;
    options: {
      llama2_format: Llama2Format;
      upstream_url: string;
      raw_dialect: RawDialect;
      max_tokens: number | undefined;
      temperature: number | undefined;
      top_p: number | undefined;
      top_k: number | undefined;
      input_cost: number | undefined;
      output_cost: number | undefined;
      ollama: OllamaKnobs | undefined;
    };
  };
  auth: AuthConfig & { allow_override: boolean };
  logging: Required<Pick<LoggingConfig, 'log_statistics' | 'log_payloads'>> & Pick<LoggingConfig, 'on_statistics'>;
  response_streaming: 'allow' | 'deny' | 'always';
  max_request_body_size: number;
  max_response_body_size: number;
  model_name_header: boolean;
  upstream_timeout: number;
  upstream_first_byte_timeout: number;
  upstream_total_timeout: number;
  client_write_timeout: number;
  agent: HttpAgent | undefined;
  request_body_timeout: number;
  forward_headers: ForwardHeadersConfig | undefined;
  observability: ResolvedObservability;
  client_model: 'reject' | 'replace';
}

const MiB = 1024 * 1024;

/** Real chat histories with long system prompts stay far below this; OpenAI's own cap is larger only for images. */
export const DEFAULT_MAX_REQUEST_BODY_SIZE = 8 * MiB;
export const DEFAULT_MAX_RESPONSE_BODY_SIZE = 32 * MiB;
export const DEFAULT_UPSTREAM_TIMEOUT = 60_000;
/** A client that has not finished sending its body after this long is answered 408. */
export const DEFAULT_REQUEST_BODY_TIMEOUT = 30_000;

const headerName = Joi.string()
  .min(1)
  .pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'HTTP header name');
/** Loading a large model from disk on a cold server takes minutes before its first byte. */
export const DEFAULT_UPSTREAM_FIRST_BYTE_TIMEOUT = 300_000;
/** Long enough for a few thousand tokens on a CPU-only server; bounds an upstream dripping bytes. */
export const DEFAULT_UPSTREAM_TOTAL_TIMEOUT = 1_800_000;
export const DEFAULT_CLIENT_WRITE_TIMEOUT = 60_000;

const llama2Formats: Llama2Format[] = ['raw', 'ollama', 'openai'];

const modelOptionsSchema = Joi.object({
  llama2_format: Joi.string().valid(...llama2Formats),
  upstream_url: Joi.string().uri({ scheme: ['http', 'https'] }),
  raw_dialect: Joi.string().valid('auto', 'tgi', 'llamacpp').default('auto'),
  max_tokens: Joi.number().integer().min(1),
  temperature: Joi.number().min(0).max(5),
  top_p: Joi.number().min(0).max(1),
  top_k: Joi.number().integer().min(0).max(500),
  input_cost: Joi.number().greater(0),
  output_cost: Joi.number().greater(0),
  // Ollama's settings mean nothing to another server: refused there rather than silently unused.
  ollama: Joi.when('llama2_format', { is: 'ollama', then: ollamaKnobsSchema, otherwise: Joi.forbidden() }),
}).default({});

const schema = Joi.object({
  route_type: Joi.string().valid('llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings').required(),
  model: Joi.object({
    provider: Joi.string().valid('llama2').required(),
    name: Joi.string().min(1),
    options: modelOptionsSchema,
  })
    .required()
    .when(Joi.object({ provider: Joi.valid('llama2').required() }).unknown(), {
      then: Joi.object({
        options: modelOptionsSchema.keys({
          llama2_format: Joi.required(),
          upstream_url: Joi.required(),
        }),
      }),
    }),
  auth: Joi.object({
    header_name: Joi.string()
      .min(1)
      .pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'HTTP header name'),
    // A trailing newline from a token file would make every upstream request throw in setHeader.
    header_value: Joi.string().pattern(/^[\t\x20-\x7e\x80-\xff]*$/, 'header value'),
    param_name: Joi.string().min(1),
    param_value: Joi.string(),
    param_location: Joi.string().valid('query', 'body'),
    allow_override: Joi.boolean().default(false),
  })
    .and('header_name', 'header_value')
    .and('param_name', 'param_value', 'param_location')
    .default({ allow_override: false }),
  logging: Joi.object({
    log_statistics: Joi.boolean().default(false),
    log_payloads: Joi.boolean().default(false),
    on_statistics: Joi.function(),
  }).default({ log_statistics: false, log_payloads: false }),
  response_streaming: Joi.string().valid('allow', 'deny', 'always').default('allow'),
  max_request_body_size: Joi.number().integer().greater(0).default(DEFAULT_MAX_REQUEST_BODY_SIZE),
  max_response_body_size: Joi.number().integer().greater(0).default(DEFAULT_MAX_RESPONSE_BODY_SIZE),
  model_name_header: Joi.boolean().default(true),
  upstream_timeout: Joi.number().integer().greater(0).default(DEFAULT_UPSTREAM_TIMEOUT),
  upstream_first_byte_timeout: Joi.number().integer().greater(0).default(DEFAULT_UPSTREAM_FIRST_BYTE_TIMEOUT),
  upstream_total_timeout: Joi.number().integer().greater(0).default(DEFAULT_UPSTREAM_TOTAL_TIMEOUT),
  client_write_timeout: Joi.number().integer().greater(0).default(DEFAULT_CLIENT_WRITE_TIMEOUT),
  agent: Joi.object().instance(HttpAgent, 'http.Agent'),
  request_body_timeout: Joi.number().integer().greater(0).default(DEFAULT_REQUEST_BODY_TIMEOUT),
  forward_headers: Joi.object({
    // The hop-by-hop and framing headers cannot be allowed: forwarding them would break the upstream request.
    allow: Joi.array().items(headerName.invalid(...NEVER_FORWARDED).insensitive()),
    deny: Joi.array().items(headerName),
  }),
  observability: observabilitySchema,
  client_model: Joi.string().valid('reject', 'replace').default('reject'),
}).required();

/**
 * Validates a config and returns it resolved (defaults applied, the Kong docs' short form
 * `model.llama2_format` / `model.upstream_url` moved into `model.options`).
 * Throws `AiProxyConfigError` listing every problem at once.
 */
export function validateConfig(config: AiProxyConfig): ResolvedConfig {
  const problems: ConfigProblem[] = [];
  const input = foldShortForm(config, problems);
  const { error, value } = schema.validate(input, { abortEarly: false, convert: false }) as { error?: Joi.ValidationError; value: unknown };
  if (error) {
    // Joi reports a wrong type twice for `valid()` fields ("must be one of", "must be a string"): keep the first.
    const seen = new Set(problems.map((p) => p.path));
    for (const detail of error.details) {
      const problem = describe(detail);
      if (!seen.has(problem.path)) problems.push(problem);
      seen.add(problem.path);
    }
  }
  if (problems.length > 0) throw new AiProxyConfigError(problems);
  return value as ResolvedConfig;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Kong's YAML example puts llama2_format and upstream_url right under `model`. */
function foldShortForm(config: unknown, problems: ConfigProblem[]): unknown {
  if (!isPlainObject(config) || !isPlainObject(config.model)) return config;
  const { llama2_format, upstream_url, ...model } = config.model;
  // Without an options object joi would skip the llama2 `required` checks inside it.
  if (llama2_format === undefined && upstream_url === undefined) {
    return model.options === undefined ? { ...config, model: { ...model, options: {} } } : config;
  }
  const options: Record<string, unknown> = isPlainObject(model.options) ? { ...model.options } : {};
  for (const [key, short] of [
    ['llama2_format', llama2_format],
    ['upstream_url', upstream_url],
  ] as const) {
    if (short === undefined) continue;
    if (options[key] !== undefined && options[key] !== short) {
      problems.push({
        path: `model.${key}`,
        message: `model.${key} and model.options.${key} disagree: give it once, preferably in model.options`,
      });
    }
    options[key] = short;
  }
  return { ...config, model: { ...model, options } };
}

const requiredForLlama2 = new Set(['model.options.llama2_format', 'model.options.upstream_url']);
const hints: Record<string, string> = {
  'model.options.upstream_url': 'an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat"',
  'model.options.llama2_format': 'one of "raw", "ollama", "openai"',
  route_type: 'one of "llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings"',
};

function describe(detail: Joi.ValidationErrorItem): ConfigProblem {
  const path = detail.path.join('.') || '(config)';
  const ctx = detail.context ?? {};
  const hint = hints[path];
  // Auth fields hold secrets, sometimes in the wrong field: never repeat a value given there.
  const secret = path.startsWith('auth.');
  if (detail.type.startsWith('string.pattern')) {
    return {
      path,
      message: `${path} must be a valid ${String(ctx.name ?? 'value')}${secret ? (ctx.name === 'header value' ? ' (no line breaks or control characters)' : '') : `, got ${JSON.stringify(ctx.value)}`}`,
    };
  }
  switch (detail.type) {
    case 'any.required':
      return {
        path,
        message: requiredForLlama2.has(path) ? `${path} is required for the llama2 provider (${hint})` : `${path} is required${hint ? ` (${hint})` : ''}`,
      };
    case 'object.unknown': {
      const suggestion = closest(String(ctx.key), siblingKeys(detail.path));
      return { path, message: `${path} is not a known option${suggestion ? `. Did you mean "${suggestion}"?` : ''}` };
    }
    case 'object.and': {
      const present = (ctx.presentWithLabels as string[] | undefined) ?? [];
      const missing = (ctx.missingWithLabels as string[] | undefined) ?? [];
      const prefix = path === '(config)' ? '' : `${path}.`;
      return {
        path: `${prefix}${missing[0] ?? ''}`,
        message: `${missing.map((m) => prefix + m).join(', ')} must be set together with ${present.map((p) => prefix + p).join(', ')}`,
      };
    }
    case 'any.invalid':
      if (!path.startsWith('forward_headers.')) return { path, message: `${path} ${detail.message.replace(/^"[^"]*" /, '')}` };
      return { path, message: `${path} cannot be allowed: hop-by-hop and body-framing headers (${NEVER_FORWARDED.join(', ')}) never go upstream` };
    case 'any.only':
      return { path, message: `${path} must be ${hint ?? `one of ${formatList(ctx.valids)}`}${secret ? '' : `, got ${JSON.stringify(ctx.value)}`}` };
    case 'string.uri':
    case 'string.uriCustomScheme':
      return { path, message: `${path} must be ${hint ?? 'an absolute http(s) URL'}, got ${JSON.stringify(ctx.value)}` };
    default:
      // Joi's own wording ("must be less than or equal to 5"), with our path in front instead of its label.
      return { path, message: `${path} ${detail.message.replace(/^"[^"]*" /, '')}` };
  }
}

function formatList(values: unknown): string {
  return Array.isArray(values) ? values.map((v) => JSON.stringify(v)).join(', ') : String(values);
}

/** The keys the schema knows next to a given path (read from the schema, so they never drift). */
function siblingKeys(path: (string | number)[]): string[] {
  const parent = path.slice(0, -1).map(String);
  try {
    const sub = parent.length === 0 ? schema : schema.extract(parent);
    const keys = Object.keys((sub.describe() as { keys?: Record<string, unknown> }).keys ?? {});
    // The short form is folded away before joi sees it, but it is a known spelling.
    return parent.join('.') === 'model' ? [...keys, 'llama2_format', 'upstream_url'] : keys;
  } catch {
    return [];
  }
}

/** The known key within edit distance 3 (typos like `upstream_uri`, `maxTokens`), if any. */
function closest(key: string, candidates: string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  let best: string | undefined;
  let bestDistance = 4;
  for (const c of candidates) {
    const d = editDistance(norm(key), norm(c));
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * A config whose values arrived as strings (the Kong admin API's form fields): numbers and
 * booleans converted where the schema expects them, nothing else changed. Validate the result
 * with `validateConfig`, which reports what is still wrong.
 */
export function coerceConfig(input: unknown): unknown {
  return schema.validate(foldShortForm(input, []), { abortEarly: false, convert: true, noDefaults: true }).value;
}
