import type { IncomingMessage, ServerResponse } from 'node:http';
import { IncompleteUpstreamAnswerError, ProxyError, sendError, UpstreamFormatError } from './errors';
import type { Exchange } from './exchange';
import { readUpstreamBody } from './read-upstream';
import { safeHeaderValue } from './headers/header-value';
import { modelHeader, modelHeaderValue, type RouteParts } from './route-parts';
import { reportStatistics } from './statistics';
import { redact, upstreamError } from './upstream-error';

/**
 * Answers from a whole (non-streamed) upstream answer: a non-2xx becomes an OpenAI error with the
 * upstream's status and message, a 2xx is converted by the format; an answer that cannot be read
 * is a 502. `failUpstream` handles a connection lost or an answer too large.
 */
export function relayJson(
  proxyRes: IncomingMessage,
  res: ServerResponse,
  exchange: Exchange,
  parts: RouteParts,
  failUpstream: (res: ServerResponse, exchange: Exchange, err: Error) => void,
): void {
  readUpstreamBody(proxyRes, parts.config.max_response_body_size, (err, text) => {
    // The answer's own headers carry Server-Timing (one header operation, not two); error answers set it here.
    exchange.obs.upstreamDone();
    if (err) {
      failUpstream(res, exchange, err);
      return;
    }
    const status = proxyRes.statusCode ?? 502;
    if (status < 200 || status >= 300) {
      exchange.obs.setServerTiming(res);
      const retryAfter = proxyRes.headers['retry-after'];
      const headers = retryAfter ? { 'retry-after': safeHeaderValue(String(retryAfter)), ...modelHeader(parts, exchange) } : modelHeader(parts, exchange);
      sendError(res, upstreamError(status, proxyRes.headers['content-type'], text, parts.secrets), headers, parts.secrets);
      reportStatistics(parts.config, exchange, status, undefined, undefined, { upstreamStatus: status });
      return;
    }
    answer(res, exchange, parts, text, proxyRes);
  });
}

function answer(res: ServerResponse, exchange: Exchange, parts: RouteParts, text: string, proxyRes: IncomingMessage): void {
  let completion;
  try {
    completion = parts.format.fromUpstream(parseAnswer(text, parts), exchange.llmReq, parts.ctx, proxyRes.headers);
  } catch (err) {
    const message = err instanceof UpstreamFormatError ? err.message : 'the upstream answer could not be converted';
    const code = err instanceof IncompleteUpstreamAnswerError ? IncompleteUpstreamAnswerError.code : 'bad_upstream_response';
    exchange.obs.setServerTiming(res);
    sendError(res, new ProxyError(502, redact(message, parts.secrets), 'api_error', code), modelHeader(parts, exchange), parts.secrets);
    reportStatistics(parts.config, exchange, 502, undefined, undefined, { upstreamStatus: proxyRes.statusCode });
    return;
  }
  // Extra fields of an `openai` answer are passed on: they pass the redactor like every byte sent.
  const out = redact(JSON.stringify(completion), parts.secrets);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(out),
  };
  if (parts.config.model_name_header) headers['x-llm-model'] = modelHeaderValue(exchange.llmReq.model);
  const timing = exchange.obs.serverTimingValue();
  if (timing) headers['server-timing'] = timing;
  res.writeHead(200, headers);
  res.end(out);
  reportStatistics(parts.config, exchange, 200, completion.usage, parts.config.logging.log_payloads ? out : undefined, {
    upstreamStatus: proxyRes.statusCode,
    // Embeddings answers have no choices.
    finishReason: (completion as { choices?: { finish_reason?: string | null }[] }).choices?.[0]?.finish_reason ?? undefined,
  });
}

function parseAnswer(text: string, parts: RouteParts): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UpstreamFormatError(`the upstream answer is not valid JSON (${parts.ctx.format} format expected)`);
  }
}
