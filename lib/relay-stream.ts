import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedConfig } from './config';
import type { Exchange } from './exchange';
import type { Format, FormatContext } from './formats/format';
import { completionId, nowSeconds } from './formats';
import { reportStatistics } from './statistics';
import { StreamConverter } from './stream/stream-converter';

/**
 * Streams a 2xx upstream answer to the client as OpenAI SSE, converting as bytes arrive.
 * `pipe` carries backpressure both ways; the client leaving destroys the upstream request
 * (see `abortUpstreamIfUnfinished`), and an upstream dying mid-answer ends the client's stream
 * with an error frame rather than a silent cut.
 */
export function relayStream(
  proxyRes: IncomingMessage,
  res: ServerResponse,
  exchange: Exchange,
  format: Format,
  ctx: FormatContext,
  config: ResolvedConfig,
  modelHeader: Record<string, string> | undefined,
): void {
  const { llmReq } = exchange;
  const converter = new StreamConverter(format, llmReq, ctx, {
    id: completionId(ctx.routeType),
    created: nowSeconds(),
    model: llmReq.model,
  });
  res.writeHead(200, {
    ...modelHeader,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // Tells nginx-style buffering proxies in front of us to pass frames on at once.
    'x-accel-buffering': 'no',
  });
  // Not flushed on their own: they leave with the first frame, one write instead of two.

  let upstreamGone = false;
  const endFromUpstreamFailure = () => {
    if (upstreamGone) return;
    upstreamGone = true;
    proxyRes.unpipe(converter);
    converter.failUpstream(
      exchange.timedOut
        ? `the upstream sent nothing for ${config.upstream_timeout} ms (upstream_timeout)`
        : 'the upstream connection was lost before the answer was complete',
    );
  };
  proxyRes.on('error', endFromUpstreamFailure);
  proxyRes.on('close', () => {
    if (!proxyRes.complete) endFromUpstreamFailure();
  });
  converter.on('end', () => {
    reportStatistics(config, exchange, 200, converter.usage, undefined);
  });
  proxyRes.pipe(converter).pipe(res);
}
