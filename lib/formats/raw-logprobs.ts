import { isRecord } from './util';

type TokenLogprob = { token: string; logprob: number; bytes: number[] | null };

/** One token of OpenAI's `logprobs.content` from an upstream entry with the same field names (llama.cpp, Ollama). */
export function tokenLogprob(e: Record<string, unknown>): TokenLogprob {
  return {
    token: typeof e.token === 'string' ? e.token : '',
    logprob: typeof e.logprob === 'number' ? e.logprob : 0,
    bytes: Array.isArray(e.bytes) ? (e.bytes as number[]) : null,
  };
}

/**
 * llama.cpp's `completion_probabilities` (`[{id, token, bytes, logprob, top_logprobs}]`, asked for
 * with `n_probs`) in OpenAI's `logprobs.content` shape, `top_logprobs` cut to the `top` the client
 * asked for (llama.cpp needs `n_probs` ≥ 1 to report anything). Undefined when there are none.
 */
export function llamaCppLogprobs(probabilities: unknown, top: number): unknown[] | undefined {
  if (!Array.isArray(probabilities) || probabilities.length === 0) return undefined;
  return probabilities.map((entry: unknown) => {
    const e = isRecord(entry) ? entry : {};
    const alternatives = Array.isArray(e.top_logprobs) ? e.top_logprobs.slice(0, top) : [];
    return { ...tokenLogprob(e), top_logprobs: alternatives.map((t: unknown) => tokenLogprob(isRecord(t) ? t : {})) };
  });
}

/** TGI's `{text, logprob, special}` token as OpenAI's (TGI sends no bytes: they are the text's UTF-8). */
function tgiToken(t: unknown): TokenLogprob {
  const e = isRecord(t) ? t : {};
  const token = typeof e.text === 'string' ? e.text : '';
  return { token, logprob: typeof e.logprob === 'number' ? e.logprob : 0, bytes: [...Buffer.from(token)] };
}

/**
 * TGI's generated tokens (`details.tokens`, or one stream event's `token`) with their alternatives
 * (`top_tokens`, asked for with `top_n_tokens`) in OpenAI's `logprobs.content` shape. Special tokens
 * (the end of sequence) carry no text and are left out, as their text is.
 */
export function tgiLogprobs(tokens: unknown[], topTokens: unknown[] | undefined, top: number): unknown[] | undefined {
  const out: unknown[] = [];
  tokens.forEach((t, i) => {
    if (!isRecord(t) || t.special === true) return;
    const alternatives = Array.isArray(topTokens?.[i]) ? (topTokens[i] as unknown[]).slice(0, top) : [];
    out.push({ ...tgiToken(t), top_logprobs: alternatives.map(tgiToken) });
  });
  return out.length > 0 ? out : undefined;
}
