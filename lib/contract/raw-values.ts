import { invalidValue } from './check-fields';
import { jsonSchemaOf, requestedLogprobs, samplingExtras } from './request-values';

type Body = Record<string, unknown>;

/** What a plain request adds (`LlmRequest.extras` unset): nothing. */
const NONE: Readonly<Record<string, unknown>> = Object.freeze({});

/** TGI `parameters` for the fields the contract maps: `seed`, `frequency_penalty`, `response_format` → `grammar`. */
export function tgiExtras(body: Body, kind: 'chat' | 'completions', extras: boolean | undefined): Record<string, unknown> {
  if (!extras) return NONE;
  const { seed, frequency_penalty } = samplingExtras(body);
  const out: Record<string, unknown> = {};
  if (seed !== undefined) out.seed = seed;
  // 0 is OpenAI's default and TGI's "off"; TGI refuses nothing in [-2, 2].
  if (frequency_penalty !== undefined) out.frequency_penalty = frequency_penalty;
  const json = jsonSchemaOf(body);
  if (json) out.grammar = { type: 'json', value: json.schema };
  // `logprobs`: `details` (always asked for) carries each token's; `top_n_tokens` the alternatives.
  const top = requestedLogprobs(body, kind);
  if (top) out.top_n_tokens = top;
  return out;
}

/** llama.cpp `/completion` fields: `seed`, both penalties, `logit_bias` (as `[[token, bias]]`), `response_format` → `json_schema`. */
export function llamaCppExtras(body: Body, kind: 'chat' | 'completions', extras: boolean | undefined): Record<string, unknown> {
  if (!extras) return NONE;
  const out: Record<string, unknown> = { ...samplingExtras(body) };
  const bias = llamaCppLogitBias(body.logit_bias);
  if (bias) out.logit_bias = bias;
  const json = jsonSchemaOf(body);
  if (json) out.json_schema = json.schema;
  // `logprobs`: llama.cpp reports the chosen token's log-probability only next to at least one alternative.
  const top = requestedLogprobs(body, kind);
  if (top !== undefined) out.n_probs = Math.max(1, top);
  return out;
}

/** OpenAI's `{"<token id>": bias}` as llama.cpp's `[[id, bias], …]`, the form every llama.cpp version reads. */
function llamaCppLogitBias(value: unknown): Array<[number, number]> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidValue('logit_bias', 'must be an object of token id → bias');
  const out: Array<[number, number]> = [];
  for (const [key, bias] of Object.entries(value as Record<string, unknown>)) {
    const id = Number(key);
    if (!/^\d{1,9}$/.test(key) || !Number.isInteger(id)) throw invalidValue('logit_bias', `keys must be token ids, got ${JSON.stringify(key.slice(0, 40))}`);
    if (typeof bias !== 'number' || !Number.isFinite(bias) || bias < -100 || bias > 100)
      throw invalidValue('logit_bias', 'biases must be numbers between -100 and 100');
    out.push([id, bias]);
  }
  return out.length > 0 ? out : undefined;
}
