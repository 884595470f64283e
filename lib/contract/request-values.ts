import { invalidValue, readNumberField } from './check-fields';
import { responseFormatType } from './request-fields';

type Body = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `seed`, `presence_penalty`, `frequency_penalty` as given (checked), for the formats that map them. */
export function samplingExtras(body: Body): { seed?: number; presence_penalty?: number; frequency_penalty?: number } {
  const out: { seed?: number; presence_penalty?: number; frequency_penalty?: number } = {};
  const seed = readNumberField(body, 'seed', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  if (seed !== undefined) out.seed = seed;
  const presence = readNumberField(body, 'presence_penalty', -2, 2, false);
  if (presence !== undefined) out.presence_penalty = presence;
  const frequency = readNumberField(body, 'frequency_penalty', -2, 2, false);
  if (frequency !== undefined) out.frequency_penalty = frequency;
  return out;
}

/**
 * What `response_format` asks for: nothing (`text`, absent), any JSON object, or JSON matching a
 * schema. `json_object` is given as the schema `{"type":"object"}` to the servers that need one.
 */
export function jsonSchemaOf(body: Body): { schema: Record<string, unknown>; any: boolean } | undefined {
  const rf = body.response_format;
  if (rf === undefined || rf === null) return undefined;
  const type = responseFormatType(rf);
  if (type === 'text' || type === undefined) return undefined;
  if (type === 'json_object') return { schema: { type: 'object' }, any: true };
  const js = (rf as Record<string, unknown>).json_schema;
  if (!isObject(js) || !isObject(js.schema)) throw invalidValue('response_format.json_schema.schema', 'must be a JSON Schema object');
  return { schema: js.schema, any: false };
}

/** The request's `tools`, checked to be function tools; undefined when none were given. */
export function toolsOf(body: Body): unknown[] | undefined {
  const tools = body.tools;
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw invalidValue('tools', 'must be an array of {type: "function", function: {name, description, parameters}}');
  tools.forEach((t, i) => {
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function) || typeof t.function.name !== 'string') {
      throw invalidValue(`tools[${i}]`, 'must be {type: "function", function: {name, description, parameters}}');
    }
  });
  return tools.length > 0 ? tools : undefined;
}

/**
 * How many alternatives per token the client asked for, when it asked for log-probabilities at all:
 * chat `logprobs: true` with `top_logprobs`, or the completions route's `logprobs: <count>`.
 * @throws ProxyError 400 `invalid_value` for `top_logprobs` without `logprobs: true`, or a bad count.
 */
export function requestedLogprobs(body: Body, kind: 'chat' | 'completions'): number | undefined {
  if (kind === 'completions') return readNumberField(body, 'logprobs', 0, 20, true);
  const top = readNumberField(body, 'top_logprobs', 0, 20, true);
  if (body.logprobs === true) return top ?? 0;
  if (top !== undefined) throw invalidValue('top_logprobs', 'needs "logprobs": true');
  return undefined;
}
