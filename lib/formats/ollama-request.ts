import { contractKind } from '../contract/request-fields';
import { invalidValue } from '../contract/check-fields';
import { jsonSchemaOf, requestedLogprobs, samplingExtras, toolsOf } from '../contract/request-values';
import type { ChatMessage, LlmRequest } from './format';
import { definedOnly, isRecord } from './util';

/** Ollama `options`: the tuning values that were given, then the Ollama settings (config over request). */
export function ollamaOptions(req: LlmRequest): Record<string, unknown> {
  const options = definedOnly({
    num_predict: req.max_tokens,
    temperature: req.temperature,
    top_p: req.top_p,
    top_k: req.top_k,
    stop: req.stop,
  });
  if (req.extras) Object.assign(options, samplingExtras(req.body));
  if (req.ollama) Object.assign(options, req.ollama.options);
  return options;
}

/** A tool call's `arguments` (OpenAI's JSON string) as the object Ollama takes. */
function parseArguments(text: string, param: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidValue(param, 'is not valid JSON: Ollama takes tool call arguments as a JSON object');
  }
  if (!isRecord(value)) throw invalidValue(param, 'must be a JSON object');
  return value;
}

/**
 * OpenAI messages as Ollama's: assistant `tool_calls` with `arguments` as objects, `tool` results
 * with the `tool_name` of the call they answer (found by `tool_call_id`), images as base64.
 */
export function toOllamaMessages(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  const names = new Map<string, string>();
  return messages.map((m, i) => {
    const out: Record<string, unknown> = { role: m.role, content: m.content };
    if (m.images) out.images = m.images;
    if (m.toolCalls) {
      out.tool_calls = m.toolCalls.map((c, j) => {
        if (c.id !== undefined) names.set(c.id, c.name);
        return { function: { name: c.name, arguments: parseArguments(c.arguments, `messages[${i}].tool_calls[${j}].function.arguments`) } };
      });
    }
    if (m.toolCallId !== undefined) {
      const name = names.get(m.toolCallId);
      if (name !== undefined) out.tool_name = name;
    }
    return out;
  });
}

/** OpenAI's `reasoning_effort` as Ollama's `think`. */
function thinkOf(effort: unknown): boolean | string | undefined {
  if (effort === undefined || effort === null) return undefined;
  if (effort === 'low' || effort === 'medium' || effort === 'high') return effort;
  if (effort === 'none' || effort === 'minimal') return false;
  throw invalidValue('reasoning_effort', 'must be one of "none", "minimal", "low", "medium", "high"');
}

/** The `/api/chat` body. `stream` is always sent: Ollama streams when it is absent. */
export function toOllamaChatBody(req: LlmRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {
    model: req.model,
    messages: toOllamaMessages(req.messages ?? []),
    stream: req.stream,
    options: ollamaOptions(req),
  };
  if (req.extras) addChatExtras(out, req);
  if (req.ollama) Object.assign(out, req.ollama.top);
  return out;
}

/** Tools, JSON mode, log-probabilities and thinking. */
function addChatExtras(out: Record<string, unknown>, req: LlmRequest): void {
  const body = req.body;
  const tools = toolsOf(body);
  if (tools && body.tool_choice !== 'none') out.tools = tools;
  const json = jsonSchemaOf(body);
  if (json) out.format = json.any ? 'json' : json.schema;
  addLogprobs(out, req);
  const think = thinkOf(body.reasoning_effort);
  if (think !== undefined) out.think = think;
}

/** `logprobs` and `top_logprobs` as Ollama takes them, when the client asked for log-probabilities. */
function addLogprobs(out: Record<string, unknown>, req: LlmRequest): void {
  const top = requestedLogprobs(req.body, contractKind(req.kind));
  if (top === undefined) return;
  out.logprobs = true;
  if (top > 0) out.top_logprobs = top;
}

/**
 * The `/api/generate` body. A prompt already written in the Llama 2 template (`[INST]`) is sent with
 * `raw: true`, so that Ollama does not wrap it in the model's template a second time.
 */
export function toOllamaGenerateBody(req: LlmRequest): Record<string, unknown> {
  const prompt = req.prompt ?? '';
  const out: Record<string, unknown> = { model: req.model, prompt, stream: req.stream, options: ollamaOptions(req) };
  if (prompt.includes('[INST]')) out.raw = true;
  if (req.extras) {
    addLogprobs(out, req);
    const suffix = req.body.suffix;
    if (suffix !== undefined && suffix !== null) {
      if (typeof suffix !== 'string') throw invalidValue('suffix', 'must be a string');
      if (suffix !== '') out.suffix = suffix;
    }
  }
  return { ...out, ...req.ollama?.top };
}
