/**
 * The OpenAI contract, as one table: for every field of OpenAI's chat-completions and completions
 * request, and each upstream the proxy speaks, whether the field is mapped (and to what), passed as
 * is, refused with a 400 naming it, or ignored by a documented choice. `checkRequestFields` enforces
 * the refusals from this table; the formats do the mapping it describes; the README's table is
 * rendered from it (`renderRequestFieldsTable`, checked by a test).
 */

/** The upstreams the table distinguishes: `raw` is two servers with different parameters. */
export type ContractTarget = 'ollama' | 'tgi' | 'llamacpp' | 'openai';

export const CONTRACT_TARGETS: readonly ContractTarget[] = ['ollama', 'tgi', 'llamacpp', 'openai'];

/** How each target is named in messages and in the README. */
export const TARGET_LABELS: Readonly<Record<ContractTarget, string>> = {
  ollama: 'ollama',
  tgi: 'raw (TGI)',
  llamacpp: 'raw (llama.cpp)',
  openai: 'openai',
};

/** A value of a refused field that cannot change the answer (OpenAI's default), so it is accepted. */
export interface NoOp {
  test: (value: unknown) => boolean;
  /** How the README shows the accepted value(s). */
  text: string;
}

export type FieldCell =
  /** Rewritten for the upstream by the format; `refuse` names the values that cannot be (returns the reason). */
  | { use: 'mapped'; as: string; refuse?: (value: unknown) => string | undefined }
  /** Sent upstream unchanged (openai format). */
  | { use: 'passed' }
  /** 400 `unsupported_parameter`, unless the value is the no-op one. */
  | { use: 'refused'; why: string; noop?: NoOp }
  /** Cannot change the answer; not sent. */
  | { use: 'ignored'; why: string };

export type FieldRow = Readonly<Record<ContractTarget, FieldCell>>;

export type RouteKind = 'chat' | 'completions';

/** The contract covers chat and completions; embeddings requests have their own check (lib/embeddings). */
export function contractKind(kind: RouteKind | 'embeddings'): RouteKind {
  if (kind === 'embeddings') throw new Error('embeddings requests are not checked against the chat/completions contract');
  return kind;
}

const passed: FieldCell = { use: 'passed' };
const mapped = (as: string, refuse?: (value: unknown) => string | undefined): FieldCell => (refuse ? { use: 'mapped', as, refuse } : { use: 'mapped', as });
const refused = (why: string, noop?: NoOp): FieldCell => (noop ? { use: 'refused', why, noop } : { use: 'refused', why });
const ignored = (why: string): FieldCell => ({ use: 'ignored', why });
/** The same cell for every non-openai target, `passed` on openai. */
const native = (cell: FieldCell): FieldRow => ({ ollama: cell, tgi: cell, llamacpp: cell, openai: passed });

const ONE: NoOp = { test: (v) => v === 1, text: '`1`' };
const ZERO: NoOp = { test: (v) => v === 0, text: '`0`' };
const FALSE: NoOp = { test: (v) => v === false, text: '`false`' };
const TRUE: NoOp = { test: (v) => v === true, text: '`true`' };
const EMPTY_STRING: NoOp = { test: (v) => v === '', text: '`""`' };
const EMPTY_OBJECT: NoOp = { test: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0, text: '`{}`' };
const TEXT_ONLY: NoOp = { test: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text', text: '`["text"]`' };
const TOOL_CHOICE_NONE: NoOp = { test: (v) => v === 'none', text: '`"none"`' };
const NO_TOOLS: NoOp = { test: (v) => Array.isArray(v) && v.length === 0, text: '`[]`' };

const NO_TOOLS_RAW = 'the Llama 2 prompt template has no tools';
const NO_ANSWER_EFFECT = 'does not change the answer';

/** Ollama's `tool_choice`: `auto` sends the tools, `none` leaves them out; Ollama cannot be forced to call one. */
function ollamaToolChoice(value: unknown): string | undefined {
  if (value === 'auto' || value === 'none') return undefined;
  return 'Ollama cannot be forced to call a tool; use "auto" or "none"';
}

function ollamaResponseFormat(value: unknown): string | undefined {
  return responseFormatType(value) ? undefined : 'expected {"type": "text" | "json_object" | "json_schema"}';
}

/** The `response_format.type` when it is one the mappings know. */
export function responseFormatType(value: unknown): 'text' | 'json_object' | 'json_schema' | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as Record<string, unknown>).type;
  return type === 'text' || type === 'json_object' || type === 'json_schema' ? type : undefined;
}

/** Fields both routes share. */
const COMMON: Record<string, FieldRow> = {
  model: {
    ollama: mapped('`model` (the model policy of `model.name` applies)'),
    tgi: mapped('not sent (one model per server); the model policy of `model.name` applies'),
    llamacpp: mapped('not sent (one model per server); the model policy of `model.name` applies'),
    openai: mapped('`model` (the model policy of `model.name` applies)'),
  },
  stream: {
    ollama: mapped('`stream` (always sent)'),
    tgi: mapped('`/generate_stream` path'),
    llamacpp: mapped('`stream`'),
    openai: passed,
  },
  stream_options: native(mapped('`include_usage` → final usage chunk')),
  max_tokens: {
    ollama: mapped('`options.num_predict`'),
    tgi: mapped('`parameters.max_new_tokens`'),
    llamacpp: mapped('`n_predict`'),
    openai: passed,
  },
  temperature: {
    ollama: mapped('`options.temperature`'),
    tgi: mapped('`parameters.temperature` (0 → `do_sample: false`)'),
    llamacpp: mapped('`temperature`'),
    openai: passed,
  },
  top_p: {
    ollama: mapped('`options.top_p`'),
    tgi: mapped('`parameters.top_p` (left out unless 0 < top_p < 1)'),
    llamacpp: mapped('`top_p`'),
    openai: passed,
  },
  top_k: {
    ollama: mapped('`options.top_k`'),
    tgi: mapped('`parameters.top_k` (left out when 0)'),
    llamacpp: mapped('`top_k`'),
    openai: passed,
  },
  stop: {
    ollama: mapped('`options.stop` (array)'),
    tgi: mapped('`parameters.stop` (array)'),
    llamacpp: mapped('`stop` (array)'),
    openai: passed,
  },
  n: native(refused('one choice per answer', ONE)),
  seed: {
    ollama: mapped('`options.seed`'),
    tgi: mapped('`parameters.seed`'),
    llamacpp: mapped('`seed`'),
    openai: passed,
  },
  presence_penalty: {
    ollama: mapped('`options.presence_penalty`'),
    tgi: refused('TGI has no presence penalty', ZERO),
    llamacpp: mapped('`presence_penalty`'),
    openai: passed,
  },
  frequency_penalty: {
    ollama: mapped('`options.frequency_penalty`'),
    tgi: mapped('`parameters.frequency_penalty`'),
    llamacpp: mapped('`frequency_penalty`'),
    openai: passed,
  },
  logit_bias: {
    ollama: refused('Ollama has no logit bias', EMPTY_OBJECT),
    tgi: refused('TGI has no logit bias', EMPTY_OBJECT),
    llamacpp: mapped('`logit_bias` (token id → bias)'),
    openai: passed,
  },
  user: native(ignored(NO_ANSWER_EFFECT)),
};

/** `llm/v1/chat` fields (OpenAI's CreateChatCompletionRequest). */
const CHAT: Record<string, FieldRow> = {
  messages: {
    ollama: mapped('`messages` (tool calls, tool results, `data:` images)'),
    tgi: mapped('Llama 2 chat template → `inputs`'),
    llamacpp: mapped('Llama 2 chat template → `prompt`'),
    openai: passed,
  },
  ...COMMON,
  max_completion_tokens: {
    ollama: mapped('`options.num_predict`'),
    tgi: mapped('`parameters.max_new_tokens`'),
    llamacpp: mapped('`n_predict`'),
    openai: mapped("passed; the config's `max_tokens` replaces it"),
  },
  logprobs: {
    ollama: mapped('`logprobs` → `choices[].logprobs.content`'),
    tgi: mapped('`details.tokens` → `choices[].logprobs.content`'),
    llamacpp: mapped('`n_probs` → `choices[].logprobs.content`'),
    openai: passed,
  },
  top_logprobs: {
    ollama: mapped('`top_logprobs`'),
    tgi: mapped('`parameters.top_n_tokens` (TGI allows 5 unless `--max-top-n-tokens`)'),
    llamacpp: mapped('`n_probs` (at least 1)'),
    openai: passed,
  },
  response_format: {
    ollama: mapped('`json_object` → `format: "json"`; `json_schema` → `format: <schema>`', ollamaResponseFormat),
    tgi: mapped('`parameters.grammar: {type: "json", value: <schema>}`', ollamaResponseFormat),
    llamacpp: mapped('`json_schema: <schema>`', ollamaResponseFormat),
    openai: passed,
  },
  tools: {
    ollama: mapped('`tools`'),
    tgi: refused(NO_TOOLS_RAW, NO_TOOLS),
    llamacpp: refused(NO_TOOLS_RAW, NO_TOOLS),
    openai: passed,
  },
  tool_choice: {
    ollama: mapped('`auto` → tools sent; `none` → tools left out; forced choice refused', ollamaToolChoice),
    tgi: refused(NO_TOOLS_RAW, TOOL_CHOICE_NONE),
    llamacpp: refused(NO_TOOLS_RAW, TOOL_CHOICE_NONE),
    openai: passed,
  },
  parallel_tool_calls: {
    ollama: refused('Ollama may always answer with several tool calls', TRUE),
    tgi: ignored('no tools on this format (`tools` is refused)'),
    llamacpp: ignored('no tools on this format (`tools` is refused)'),
    openai: passed,
  },
  functions: native(refused('the deprecated `functions` are not mapped; use `tools`')),
  function_call: native(refused('the deprecated `function_call` is not mapped; use `tool_choice`')),
  reasoning_effort: {
    ollama: mapped('`think` (`low`/`medium`/`high`; `none`/`minimal` → `false`)'),
    tgi: refused('Llama 2 has no reasoning control'),
    llamacpp: refused('Llama 2 has no reasoning control'),
    openai: passed,
  },
  modalities: native(refused('text answers only', TEXT_ONLY)),
  audio: native(refused('text answers only')),
  web_search_options: native(refused('the proxy does not search the web')),
  verbosity: native(refused('no verbosity control')),
  prediction: native(ignored('a latency hint; the answer is the same without it')),
  metadata: native(ignored(NO_ANSWER_EFFECT)),
  store: native(ignored(NO_ANSWER_EFFECT)),
  service_tier: native(ignored(NO_ANSWER_EFFECT)),
  safety_identifier: native(ignored(NO_ANSWER_EFFECT)),
  prompt_cache_key: native(ignored(NO_ANSWER_EFFECT)),
};

/** `llm/v1/completions` fields (OpenAI's CreateCompletionRequest). */
const COMPLETIONS: Record<string, FieldRow> = {
  prompt: {
    ollama: mapped('`prompt` (`raw: true` for an `[INST]` prompt)'),
    tgi: mapped('`inputs` (Llama 2 template unless it has `[INST]`)'),
    llamacpp: mapped('`prompt` (Llama 2 template unless it has `[INST]`)'),
    openai: passed,
  },
  ...COMMON,
  suffix: {
    ollama: mapped('`suffix`'),
    tgi: refused('TGI has no fill-in-the-middle on /generate', EMPTY_STRING),
    llamacpp: refused('llama.cpp /completion has no suffix (that is /infill)', EMPTY_STRING),
    openai: passed,
  },
  echo: native(refused('the prompt is not echoed back', FALSE)),
  best_of: native(refused('one candidate per answer', ONE)),
  logprobs: {
    ollama: mapped('`logprobs` + `top_logprobs` → `choices[].logprobs` (legacy shape, no `text_offset`)'),
    tgi: mapped('`details.tokens` + `top_n_tokens` → `choices[].logprobs` (legacy shape, no `text_offset`)'),
    llamacpp: mapped('`n_probs` → `choices[].logprobs` (legacy shape, no `text_offset`)'),
    openai: passed,
  },
};

/**
 * Ollama settings an OpenAI client cannot name, accepted from the request (top-level fields, as
 * OpenAI SDKs send extra body fields) on `ollama` routes, and settable in `model.options.ollama`.
 * Top-level ones go next to `messages`; the others into `options`.
 */
export const OLLAMA_TOP_LEVEL_KNOBS = ['keep_alive', 'think'] as const;
export const OLLAMA_OPTION_KNOBS = [
  'num_ctx',
  'num_keep',
  'num_batch',
  'num_gpu',
  'main_gpu',
  'num_thread',
  'use_mmap',
  'repeat_last_n',
  'repeat_penalty',
  'min_p',
  'typical_p',
  'mirostat',
  'mirostat_tau',
  'mirostat_eta',
] as const;

const OLLAMA_ONLY = 'an Ollama setting; this upstream is not Ollama';
const KNOBS: Record<string, FieldRow> = Object.fromEntries([
  ...OLLAMA_TOP_LEVEL_KNOBS.map((k): [string, FieldRow] => [
    k,
    { ollama: mapped(`\`${k}\``), tgi: refused(OLLAMA_ONLY), llamacpp: refused(OLLAMA_ONLY), openai: passed },
  ]),
  ...OLLAMA_OPTION_KNOBS.map((k): [string, FieldRow] => [
    k,
    { ollama: mapped(`\`options.${k}\``), tgi: refused(OLLAMA_ONLY), llamacpp: refused(OLLAMA_ONLY), openai: passed },
  ]),
]);

/** The whole table, per route. Fields not listed: passed on `openai`, refused on the others. */
export const REQUEST_FIELDS: Readonly<Record<RouteKind, Readonly<Record<string, FieldRow>>>> = {
  chat: { ...CHAT, ...KNOBS },
  completions: { ...COMPLETIONS, ...KNOBS },
};

/** The cell for a field the table does not list. */
export function unknownFieldCell(target: ContractTarget): FieldCell {
  return target === 'openai' ? passed : refused('not an OpenAI request field this format knows');
}

/** The table's cell for one field (the unknown-field rule when it is not listed). */
export function fieldCell(kind: RouteKind, field: string, target: ContractTarget): FieldCell {
  const row = Object.prototype.hasOwnProperty.call(REQUEST_FIELDS[kind], field) ? REQUEST_FIELDS[kind][field] : undefined;
  return row ? row[target] : unknownFieldCell(target);
}
