/**
 * What the benchmark sends and what its fake upstream answers, in the real wire shapes of
 * /work/shared/wire-examples (Ollama /api/chat, TGI /generate with details, OpenAI chat).
 * Everything is built once; the upstream writes the resulting Buffers.
 */

const ANSWER =
  'Sure! Paris is the capital of France. It is famous for the Eiffel Tower, the Louvre museum, ' +
  'its cafés, fashion houses and centuries of art, science and political history along the river Seine.';

/** Word-sized tokens with their leading space, as a Llama tokenizer would stream them. */
const TOKENS = ANSWER.split(/(?= )/);

/** The first streamed token: the scale mode watches for it to time the first chunk. */
export const FIRST_TOKEN = TOKENS[0] ?? 'Sure!';

/** `n` tokens, cycling through the answer. */
export function tokens(n: number): string[] {
  return Array.from({ length: n }, (_, i) => TOKENS[i % TOKENS.length] ?? '');
}

/** The client's request: a realistic small OpenAI chat request, identical for every row. */
export function chatRequestBody(stream: boolean): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: 'llama2',
      messages: [
        { role: 'system', content: 'You are a helpful assistant. Answer in two sentences.' },
        { role: 'user', content: 'What is the capital of France, and what is it famous for?' },
      ],
      max_tokens: 256,
      temperature: 0.7,
      stream,
    }),
  );
}

const CREATED_AT = '2024-12-06T00:46:58.265747Z';

/** Ollama `/api/chat` with `"stream": false`. */
export function ollamaChatJson(): Buffer {
  const toks = tokens(TOKENS.length);
  return Buffer.from(
    JSON.stringify({
      model: 'llama2',
      created_at: CREATED_AT,
      message: { role: 'assistant', content: toks.join('') },
      done_reason: 'stop',
      done: true,
      total_duration: 2254970291,
      load_duration: 574751416,
      prompt_eval_count: 34,
      prompt_eval_duration: 1502000000,
      eval_count: toks.length,
      eval_duration: 175000000,
    }),
  );
}

/** Ollama `/api/chat` NDJSON: one line per token, then the `done: true` line with the metrics. */
export function ollamaChatNdjson(chunks: number): { lines: Buffer[]; last: Buffer } {
  const lines = tokens(chunks).map((t) =>
    Buffer.from(JSON.stringify({ model: 'llama2', created_at: CREATED_AT, message: { role: 'assistant', content: t }, done: false }) + '\n'),
  );
  const last = Buffer.from(
    JSON.stringify({
      model: 'llama2',
      created_at: CREATED_AT,
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      total_duration: 4883583458,
      load_duration: 1334875,
      prompt_eval_count: 34,
      prompt_eval_duration: 342546000,
      eval_count: chunks,
      eval_duration: 4535599000,
    }) + '\n',
  );
  return { lines, last };
}

/** TGI `/generate` with `details: true` (what a proxy needs for token counts and finish reason). */
export function tgiGenerateJson(): Buffer {
  const toks = tokens(TOKENS.length);
  return Buffer.from(
    JSON.stringify({
      generated_text: toks.join(''),
      details: {
        finish_reason: 'eos_token',
        generated_tokens: toks.length,
        seed: null,
        prefill: [],
        tokens: toks.map((text, i) => ({ id: 1000 + i, text, logprob: -0.5 - (i % 7) / 10, special: false })),
      },
    }),
  );
}

/** OpenAI-compatible `/v1/chat/completions`, non-streamed. */
export function openaiChatJson(): Buffer {
  const toks = tokens(TOKENS.length);
  return Buffer.from(
    JSON.stringify({
      id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
      object: 'chat.completion',
      created: 1741569952,
      model: 'llama2',
      system_fingerprint: 'fp_ollama',
      choices: [{ index: 0, message: { role: 'assistant', content: toks.join('') }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 34, completion_tokens: toks.length, total_tokens: 34 + toks.length },
    }),
  );
}

/** OpenAI-compatible SSE: role chunk with the first token, content chunks, finish chunk, `[DONE]`. */
export function openaiChatSse(chunks: number): { lines: Buffer[]; last: Buffer } {
  const head = { id: 'chatcmpl-123', object: 'chat.completion.chunk', created: 1694268190, model: 'llama2', system_fingerprint: 'fp_ollama' };
  const lines = tokens(chunks).map((t, i) =>
    Buffer.from(
      `data: ${JSON.stringify({
        ...head,
        choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: t } : { content: t }, finish_reason: null }],
      })}\n\n`,
    ),
  );
  const last = Buffer.from(`data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n` + 'data: [DONE]\n\n');
  return { lines, last };
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};

/** The client's tool-calling request: the chat request plus one tool, as OpenAI SDKs send it. */
export function toolsRequestBody(): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: 'llama2',
      messages: [
        { role: 'system', content: 'You are a helpful assistant. Use the tools when they help.' },
        { role: 'user', content: 'What is the weather in Paris right now?' },
      ],
      tools: [WEATHER_TOOL],
      tool_choice: 'auto',
      max_tokens: 256,
      temperature: 0.7,
      stream: false,
    }),
  );
}

/** Ollama `/api/chat` answering with a tool call (arguments as an object, as Ollama sends them). */
export function ollamaToolCallJson(): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: 'llama2',
      created_at: CREATED_AT,
      message: { role: 'assistant', content: '', tool_calls: [{ function: { index: 0, name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } }] },
      done_reason: 'stop',
      done: true,
      total_duration: 2254970291,
      load_duration: 574751416,
      prompt_eval_count: 160,
      prompt_eval_duration: 1502000000,
      eval_count: 24,
      eval_duration: 175000000,
    }),
  );
}
