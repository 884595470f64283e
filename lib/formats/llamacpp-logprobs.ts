import { isRecord } from './util';

type TokenLogprob = { token: string; logprob: number; bytes: number[] | null };

function tokenLogprob(e: Record<string, unknown>): TokenLogprob {
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

/** How many alternatives the client asked for (`top_logprobs`), when it asked for log-probabilities at all. */
export function requestedTopLogprobs(body: Record<string, unknown>): number | undefined {
  if (body.logprobs !== true) return undefined;
  return typeof body.top_logprobs === 'number' ? body.top_logprobs : 0;
}
