import Joi from 'joi';
import { invalidValue } from './check-fields';
import { OLLAMA_OPTION_KNOBS, OLLAMA_TOP_LEVEL_KNOBS } from './request-fields';

/**
 * Ollama settings an OpenAI client has no name for, as route defaults (`model.options.ollama`).
 * The same names are accepted as top-level request fields on `ollama` routes; the config wins.
 */
export interface OllamaKnobs {
  /** Context window, in tokens (Ollama's default is small: 2048–4096 depending on the version). */
  num_ctx?: number;
  /** How long the model stays loaded after the request: seconds, or a duration such as `"10m"`; negative keeps it loaded. */
  keep_alive?: number | string;
  /** Ask a reasoning model to think (`true`/`false`, or `"low"`/`"medium"`/`"high"` for models that take a level). */
  think?: boolean | 'low' | 'medium' | 'high';
  num_keep?: number;
  num_batch?: number;
  num_gpu?: number;
  main_gpu?: number;
  num_thread?: number;
  use_mmap?: boolean;
  repeat_last_n?: number;
  repeat_penalty?: number;
  min_p?: number;
  typical_p?: number;
  mirostat?: 0 | 1 | 2;
  mirostat_tau?: number;
  mirostat_eta?: number;
}

const int = Joi.number().integer();
const KNOB_SCHEMAS: Readonly<Record<keyof OllamaKnobs, Joi.Schema>> = {
  num_ctx: int.min(1),
  keep_alive: Joi.alternatives(Joi.number(), Joi.string().min(1).max(64)),
  think: Joi.alternatives(Joi.boolean(), Joi.string().valid('low', 'medium', 'high')),
  num_keep: int.min(-1),
  num_batch: int.min(1),
  num_gpu: int.min(-1),
  main_gpu: int.min(0),
  num_thread: int.min(0),
  use_mmap: Joi.boolean(),
  repeat_last_n: int.min(-1),
  repeat_penalty: Joi.number().min(0),
  min_p: Joi.number().min(0).max(1),
  typical_p: Joi.number().min(0).max(1),
  mirostat: int.valid(0, 1, 2),
  mirostat_tau: Joi.number().min(0),
  mirostat_eta: Joi.number().min(0),
};

/** The joi schema of `model.options.ollama` (unknown keys refused, like every config key). */
export const ollamaKnobsSchema = Joi.object(KNOB_SCHEMAS);

const TOP = new Set<string>(OLLAMA_TOP_LEVEL_KNOBS);
// Built once: this runs on every request of an ollama route.
const KNOB_KEYS: ReadonlyArray<keyof OllamaKnobs> = [...OLLAMA_TOP_LEVEL_KNOBS, ...OLLAMA_OPTION_KNOBS];

/**
 * The Ollama settings for one request: the request's allow-listed fields, then the config's over
 * them. Undefined when there are none.
 * @throws ProxyError 400 `invalid_value` naming a request field of the wrong type.
 */
export function resolveOllamaKnobs(
  body: Record<string, unknown>,
  config: OllamaKnobs | undefined,
): { top: Record<string, unknown>; options: Record<string, unknown> } | undefined {
  let out: { top: Record<string, unknown>; options: Record<string, unknown> } | undefined;
  const put = (key: string, value: unknown): void => {
    out ??= { top: {}, options: {} };
    (TOP.has(key) ? out.top : out.options)[key] = value;
  };
  for (let i = 0; i < KNOB_KEYS.length; i++) {
    const key = KNOB_KEYS[i] as keyof OllamaKnobs;
    const value = body[key];
    if (value === undefined || value === null) continue;
    const { error } = KNOB_SCHEMAS[key].validate(value, { convert: false });
    if (error) throw invalidValue(key, error.message.replace(/^"value" /, ''));
    put(key, value);
  }
  if (config) for (const [key, value] of Object.entries(config)) if (value !== undefined) put(key, value);
  return out;
}
