import { isRecord } from './util';

/** The completions route's `logprobs` object (OpenAI's legacy shape). */
export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Array<Record<string, number>>;
}

/**
 * Chat-shaped token log-probabilities (`[{token, logprob, top_logprobs: [{token, logprob}]}]`, what
 * every format's mapping produces) in the legacy completions shape: parallel `tokens`,
 * `token_logprobs` and `top_logprobs` (token → logprob). `text_offset` is left out: it counts from
 * the start of the prompt as OpenAI rendered it, which the proxy cannot know.
 */
export function toLegacyLogprobs(entries: readonly unknown[]): LegacyLogprobs {
  const out: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [] };
  for (const entry of entries) {
    const e = isRecord(entry) ? entry : {};
    out.tokens.push(typeof e.token === 'string' ? e.token : '');
    out.token_logprobs.push(typeof e.logprob === 'number' ? e.logprob : 0);
    const top: Record<string, number> = {};
    if (Array.isArray(e.top_logprobs)) {
      for (const t of e.top_logprobs) if (isRecord(t) && typeof t.token === 'string' && typeof t.logprob === 'number') top[t.token] = t.logprob;
    }
    out.top_logprobs.push(top);
  }
  return out;
}
