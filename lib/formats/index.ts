import type { Llama2Format } from '../types';
import type { Format } from './format';
import { ollamaFormat } from './ollama';
import { openaiFormat } from './openai';
import { rawFormat } from './raw';

const FORMATS: Readonly<Record<Llama2Format, Format>> = {
  raw: rawFormat,
  ollama: ollamaFormat,
  openai: openaiFormat,
};

/** The request/response mapper of a `llama2_format`. */
export function getFormat(name: Llama2Format): Format {
  const format = FORMATS[name];
  if (!format) throw new Error(`unknown llama2_format: ${String(name)}`);
  return format;
}

export type { ChatMessage, Format, FormatContext, LlmRequest, StreamEvent, StreamState } from './format';
export { rawDialectFor, rawStreamPath, type RawServerDialect } from './raw';
export { mapFinishReason } from './finish-reason';
export { buildLlama2ChatPrompt, buildLlama2CompletionPrompt, buildLlama2Prompt } from './llama2-prompt';
export { buildCompletion, completionId, createdFrom, makeUsage, nowSeconds } from './completion';
