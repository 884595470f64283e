/** The OpenAI answer shapes the proxy produces. */

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; [extra: string]: unknown };
    logprobs: { content: unknown[]; refusal: null } | null;
    finish_reason: FinishReason | null;
  }>;
  usage: Usage;
  [extra: string]: unknown;
}

export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    text: string;
    logprobs: { tokens: string[]; token_logprobs: number[]; top_logprobs: Array<Record<string, number>> } | null;
    finish_reason: FinishReason | null;
  }>;
  usage: Usage;
  [extra: string]: unknown;
}

export type Completion = ChatCompletion | TextCompletion;

/** `{"error":{"message","type","param","code"}}`, OpenAI's error body (`param` names the request field, when one is at fault). */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
