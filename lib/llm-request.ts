import type { ResolvedConfig } from './config';
import { ProxyError } from './errors';
import type { ChatMessage, LlmRequest } from './formats/format';

type Body = Record<string, unknown>;

/**
 * Checks a client body against the route and turns it into an `LlmRequest`, with the config's
 * model and tuning options applied (the config wins; what it leaves unset comes from the body).
 */
export function toLlmRequest(body: Body, config: ResolvedConfig): LlmRequest {
  const chat = config.route_type === 'llm/v1/chat';
  const hasMessages = body.messages !== undefined && body.messages !== null;
  const hasPrompt = body.prompt !== undefined && body.prompt !== null;
  if (hasMessages && hasPrompt) {
    throw new ProxyError(400, `the request has both "messages" and "prompt": this ${config.route_type} route expects only ${chat ? '"messages"' : '"prompt"'}`);
  }

  const options = config.model.options;
  const req: LlmRequest = {
    kind: chat ? 'chat' : 'completions',
    model: resolveModel(body.model, config.model.name),
    stream: resolveStream(body.stream, config.response_streaming),
    includeUsage: isObject(body.stream_options) && body.stream_options.include_usage === true,
    max_tokens: options.max_tokens ?? readNumber(body, 'max_tokens', 1, Infinity, true),
    temperature: options.temperature ?? readNumber(body, 'temperature', 0, 5, false),
    top_p: options.top_p ?? readNumber(body, 'top_p', 0, 1, false),
    top_k: options.top_k ?? readNumber(body, 'top_k', 0, 500, true),
    stop: readStop(body.stop),
    body,
  };
  if (req.stream && config.logging.log_statistics) req.usageForStatistics = true;
  if (chat) req.messages = readMessages(body.messages);
  else req.prompt = readPrompt(body.prompt);
  return req;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resolveModel(requested: unknown, configured: string | undefined): string {
  if (requested !== undefined && requested !== null && typeof requested !== 'string') {
    throw new ProxyError(400, '"model" must be a string');
  }
  if (configured !== undefined) {
    if (requested && requested !== configured) throw new ProxyError(400, `cannot use own model - must be: ${configured}`, 'invalid_request_error', 'model_not_allowed');
    return configured;
  }
  if (!requested) throw new ProxyError(400, 'model parameter not found in the request body or in the plugin config: send "model"');
  return requested;
}

function resolveStream(requested: unknown, policy: ResolvedConfig['response_streaming']): boolean {
  if (requested !== undefined && requested !== null && typeof requested !== 'boolean') {
    throw new ProxyError(400, '"stream" must be a boolean');
  }
  if (policy === 'always') return true;
  if (requested === true && policy === 'deny') {
    throw new ProxyError(400, 'response streaming is not enabled for this LLM', 'invalid_request_error', 'streaming_disabled');
  }
  return requested === true;
}

function readNumber(body: Body, key: string, min: number, max: number, integer: boolean): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `between ${min} and ${max}`;
    throw new ProxyError(400, `"${key}" must be ${integer ? 'an integer' : 'a number'} ${range}`, 'invalid_request_error', 'invalid_value');
  }
  return v;
}

function readStop(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
  throw new ProxyError(400, '"stop" must be a string or an array of strings');
}

function readMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new ProxyError(400, 'this llm/v1/chat route expects "messages": a non-empty array of {role, content}');
  }
  return v.map((m, i) => {
    if (!isObject(m) || typeof m.role !== 'string') {
      throw new ProxyError(400, `messages[${i}] must be an object with a string "role" and "content"`);
    }
    return { role: m.role, content: readContent(m.content, i) };
  });
}

/** OpenAI allows content as a string, null (assistant turns with tool calls), or an array of parts. */
function readContent(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    let text = '';
    for (const part of content) {
      if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
        throw new ProxyError(400, `messages[${i}].content: only text parts are supported by Llama 2`);
      }
      text += text ? `\n${part.text}` : part.text;
    }
    return text;
  }
  throw new ProxyError(400, `messages[${i}].content must be a string or an array of text parts`);
}

function readPrompt(v: unknown): string {
  if (typeof v === 'string') return v;
  // The openai SDK's completions.create accepts a one-element array; more than one prompt is a batch we don't do.
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  throw new ProxyError(400, 'this llm/v1/completions route expects "prompt": a string');
}
