import type { AiProxyOutcome } from './types';

/** What is known at the end of a request that decides its outcome. */
export interface OutcomeFacts {
  status: number;
  /** The proxy answered by itself, nothing (complete) came from the upstream. */
  refused: boolean;
  clientGone: boolean;
  timedOut: boolean;
  /** For streams: how the converted stream ended (`complete`, `error`, `truncated`), or undefined. */
  streamEnd?: 'complete' | 'error' | 'truncated' | undefined;
  /** The upstream's stream gave out mid-answer (connection lost). */
  upstreamCut?: boolean;
  /** The answer's `finish_reason` (one of OpenAI's, or whatever an upstream sent). */
  finishReason?: string | undefined;
}

/** The outcome of one request; see `AiProxyOutcome`. */
export function outcomeOf(f: OutcomeFacts): AiProxyOutcome {
  if (f.clientGone) return 'aborted';
  if (f.timedOut) return 'timeout';
  if (f.refused) return f.status >= 500 ? 'internal_error' : 'client_error';
  if (f.upstreamCut || f.streamEnd === 'truncated') return 'truncated';
  if (f.streamEnd === 'error' || f.status < 200 || f.status >= 300) return 'upstream_error';
  switch (f.finishReason) {
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'complete';
  }
}
