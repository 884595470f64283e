import { secretsOf } from './auth';
import type { ResolvedConfig } from './config';
import { describeError, logStats } from './debug';
import type { Exchange } from './exchange';
import type { Observation } from './observability/observation';
import { outcomeOf } from './observability/outcome';
import type { Usage } from './openai-types';
import { redactorOf } from './redact';
import type { ProxyStatistics } from './types';

/** What the relays know beyond status and usage. */
export interface StatisticsDetail {
  finishReason?: string | undefined;
  /** Streams: how the converted stream ended. */
  streamEnd?: 'complete' | 'error' | 'truncated' | undefined;
  /** Streams: the upstream's connection gave out mid-answer. */
  upstreamCut?: boolean;
  /** Streams: content chunks relayed to the client (the token count when the upstream gave no usage). */
  relayedChunks?: number;
  /** The upstream's own HTTP status (absent when it never answered). */
  upstreamStatus?: number;
}

/**
 * Reports one request that reached the upstream stage (answered, refused by the upstream, failed,
 * aborted): its statistics go on `res.locals.aiProxy` and to metrics and tracing always, and when
 * `logging.log_statistics` is on, to a `debug` line (`express-ai-proxy:stats`) and the
 * `on_statistics` hook. Only the first report of a request counts. A failing hook never breaks the answer.
 */
export function reportStatistics(
  config: ResolvedConfig,
  exchange: Exchange,
  status: number,
  usage: Usage | undefined,
  responsePayload: string | undefined,
  detail: StatisticsDetail = {},
): void {
  const obs = exchange.obs;
  if (obs.ended) return;
  // Named fields, not a spread of `detail`: one object shape on every request.
  const outcome = outcomeOf({
    status,
    refused: false,
    clientGone: exchange.clientGone,
    timedOut: exchange.timedOut,
    streamEnd: detail.streamEnd,
    upstreamCut: detail.upstreamCut,
    finishReason: detail.finishReason,
  });
  const stats = buildStatistics(config, obs, exchange.llmReq.model, exchange.llmReq.stream, status, outcome, usage, detail);
  // A balanced route (lib/balancer) names the target that served, the ones tried, retries and time queued.
  if (exchange.balance !== undefined) Object.assign(stats, exchange.balance);
  if (config.logging.log_payloads) {
    // The hook is a way out of the proxy like any other: configured secrets never reach it.
    const redactor = redactorOf(secretsOf(config.auth));
    stats.request_payload = redactor.redact(serialise(withoutParam(exchange.llmReq.body, config.auth.param_name)));
    if (responsePayload !== undefined) stats.response_payload = redactor.redact(responsePayload);
  }
  publish(config, obs, stats);
}

/** Reports a request the proxy answered by itself (bad body, too large, internal error) before any upstream work. */
export function reportRefusal(config: ResolvedConfig, obs: Observation, status: number, body: Record<string, unknown> | undefined): void {
  if (obs.ended) return;
  // A client that hung up mid-body gets no answer; its request counts as aborted, not as bad.
  const clientGone = obs.req.destroyed && !obs.req.complete;
  const outcome = outcomeOf({ status, refused: true, clientGone, timedOut: false });
  const stream = body?.stream === true || config.response_streaming === 'always';
  // The model is not validated yet: only the configured name is safe for metric labels.
  const stats = buildStatistics(config, obs, config.model.name ?? 'unknown', stream, status, outcome, undefined, {});
  publish(config, obs, stats);
}

function buildStatistics(
  config: ResolvedConfig,
  obs: Observation,
  model: string,
  streamed: boolean,
  status: number,
  outcome: ProxyStatistics['outcome'],
  usage: Usage | undefined,
  detail: StatisticsDetail,
): ProxyStatistics {
  const t = obs.timings;
  const now = (t.endedAt = performance.now());
  const relayed = usage === undefined && (detail.relayedChunks ?? 0) > 0 ? detail.relayedChunks! : undefined;
  const prompt = usage?.prompt_tokens ?? 0;
  const completion = usage?.completion_tokens ?? relayed ?? 0;
  const { input_cost, output_cost } = config.model.options;
  const stats: ProxyStatistics = {
    route_type: config.route_type,
    provider: 'llama2',
    model,
    llama2_format: config.model.options.llama2_format,
    streamed,
    status,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    latency_ms: Math.round(now - t.startedAt),
    outcome,
    request_id: obs.requestId,
    target: obs.route.info.target,
    usage_source: usage !== undefined ? 'upstream' : relayed !== undefined ? 'relayed' : 'none',
  };
  if (detail.finishReason) stats.finish_reason = detail.finishReason;
  if (detail.upstreamStatus !== undefined) stats.upstream_status = detail.upstreamStatus;
  if (t.upstreamSentAt !== undefined) stats.upstream_latency_ms = round2((t.upstreamEndAt ?? now) - t.upstreamSentAt);
  if (t.firstTokenAt !== undefined) {
    stats.time_to_first_token_ms = round2(t.firstTokenAt - t.startedAt);
    if (completion > 1) stats.time_per_output_token_ms = round2(((t.upstreamEndAt ?? now) - t.firstTokenAt) / (completion - 1));
  }
  if (input_cost !== undefined || output_cost !== undefined) {
    stats.cost = (prompt * (input_cost ?? 0) + completion * (output_cost ?? 0)) / 1_000_000;
  }
  return stats;
}

function publish(config: ResolvedConfig, obs: Observation, stats: ProxyStatistics): void {
  obs.finish(stats);
  if (!config.logging.log_statistics) return;
  logStats(
    '%s %s id=%s outcome=%s status=%d prompt_tokens=%d completion_tokens=%d latency_ms=%d',
    stats.route_type,
    stats.model,
    stats.request_id,
    stats.outcome,
    stats.status,
    stats.prompt_tokens,
    stats.completion_tokens,
    stats.latency_ms,
  );
  const hook = config.logging.on_statistics;
  if (!hook) return;
  try {
    const result = hook(stats, obs.req, obs.res);
    // An async hook's rejection would otherwise be an unhandled rejection: in Node 15+, a crash.
    if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (err: unknown) => logStats('on_statistics rejected: %s', describeError(err)));
    }
  } catch (err) {
    logStats('on_statistics threw: %s', describeError(err));
  }
}

/** The request body as text; a body that cannot be serialised (a parser in front may hand us anything) never throws here. */
function serialise(body: Record<string, unknown>): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    logStats('request_payload could not be serialised: %s', describeError(err));
    return '[the request body could not be serialised]';
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A client may send the auth body parameter itself (allow_override); it is a secret either way. */
function withoutParam(body: Record<string, unknown>, param: string | undefined): Record<string, unknown> {
  if (param === undefined || !(param in body)) return body;
  const { [param]: _secret, ...rest } = body;
  return rest;
}
