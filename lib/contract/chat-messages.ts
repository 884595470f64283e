import { ProxyError } from '../errors';
import type { ChatMessage, ToolCallRequest } from '../formats/format';
import { invalidValue, unsupportedParameter } from './check-fields';
import type { ContractTarget } from './request-fields';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const LLAMA2 = 'the Llama 2 prompt template has';
const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

/**
 * Reads `messages` for the route's upstream: text parts joined, `image_url` parts and assistant
 * `tool_calls` kept for the formats that map them, and what the upstream cannot take refused with a
 * 400 naming the part (`messages[2].tool_calls`). `developer` (OpenAI's newer name) is read as
 * `system`. On `openai` the body is passed as is, so parts it does not read are left alone.
 */
export function readMessages(v: unknown, target: ContractTarget): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new ProxyError(400, 'this llm/v1/chat route expects "messages": a non-empty array of {role, content}', 'invalid_request_error', null, 'messages');
  }
  const raw = target === 'tgi' || target === 'llamacpp';
  return v.map((m, i) => {
    if (!isObject(m) || typeof m.role !== 'string') {
      throw new ProxyError(400, `messages[${i}] must be an object with a string "role" and "content"`, 'invalid_request_error', null, `messages[${i}]`);
    }
    const role = m.role === 'developer' ? 'system' : m.role;
    if (target === 'ollama' && !ROLES.has(role)) {
      throw unsupportedParameter(`messages[${i}].role`, target, `role "${role}" is not one of system, developer, user, assistant, tool`);
    }
    if (raw && role === 'tool') throw unsupportedParameter(`messages[${i}].role`, target, `${LLAMA2} no tool results`);
    const message: ChatMessage = { role, content: '' };
    readContent(m.content, i, target, message);
    const calls = m.tool_calls;
    if (calls !== undefined && calls !== null && !(Array.isArray(calls) && calls.length === 0)) {
      if (raw) throw unsupportedParameter(`messages[${i}].tool_calls`, target, `${LLAMA2} no tool calls`);
      if (target !== 'openai') message.toolCalls = readToolCalls(calls, i);
    }
    if (role === 'tool' && target === 'ollama') {
      if (typeof m.tool_call_id !== 'string') throw invalidValue(`messages[${i}].tool_call_id`, 'must be the id of the tool call this message answers');
      message.toolCallId = m.tool_call_id;
    }
    return message;
  });
}

function readToolCalls(calls: unknown, i: number): ToolCallRequest[] {
  if (!Array.isArray(calls)) throw invalidValue(`messages[${i}].tool_calls`, 'must be an array');
  return calls.map((c, j) => {
    const param = `messages[${i}].tool_calls[${j}]`;
    if (!isObject(c) || !isObject(c.function) || typeof c.function.name !== 'string') {
      throw invalidValue(param, 'must be {type: "function", function: {name, arguments}}');
    }
    if (c.type !== undefined && c.type !== 'function') throw unsupportedParameter(`${param}.type`, 'ollama', 'only function tool calls');
    const args = c.function.arguments;
    if (args !== undefined && typeof args !== 'string') throw invalidValue(`${param}.function.arguments`, 'must be a JSON string');
    const call: ToolCallRequest = { name: c.function.name, arguments: args ?? '{}' };
    if (typeof c.id === 'string') call.id = c.id;
    return call;
  });
}

/** OpenAI allows content as a string, null (assistant turns with tool calls), or an array of parts. */
function readContent(content: unknown, i: number, target: ContractTarget, message: ChatMessage): void {
  if (typeof content === 'string') {
    message.content = content;
    return;
  }
  if (content === null || content === undefined) return;
  if (!Array.isArray(content)) {
    throw invalidValue(`messages[${i}].content`, 'must be a string or an array of content parts');
  }
  let text = '';
  content.forEach((part, j) => {
    const param = `messages[${i}].content[${j}]`;
    if (isObject(part) && part.type === 'text' && typeof part.text === 'string') {
      text += text ? `\n${part.text}` : part.text;
    } else if (isObject(part) && part.type === 'image_url') {
      const url = isObject(part.image_url) ? part.image_url.url : part.image_url;
      if (typeof url !== 'string') throw invalidValue(`${param}.image_url`, 'must be {url}');
      if (target === 'openai') return;
      if (target !== 'ollama') throw unsupportedParameter(param, target, `${LLAMA2} no images`);
      if (!url.startsWith('data:')) {
        throw unsupportedParameter(`${param}.image_url.url`, target, 'the proxy fetches nothing a client names: send the image as a data: URL (base64)');
      }
      // Ollama takes the bare base64 payload.
      const comma = url.indexOf(',');
      if (comma === -1 || !url.slice(0, comma).endsWith(';base64'))
        throw invalidValue(`${param}.image_url.url`, 'must be a base64 data: URL (data:image/png;base64,…)');
      (message.images ??= []).push(url.slice(comma + 1));
    } else if (target !== 'openai') {
      const type = isObject(part) && typeof part.type === 'string' ? part.type : typeof part;
      throw unsupportedParameter(param, target, `content parts of type "${type}" cannot be sent (text and image_url only)`);
    }
  });
  message.content = text;
}
