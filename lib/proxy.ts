import type { Agent, ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { createProxyMiddleware } from 'http-proxy-middleware';

/** What the transport calls back with; the only coupling between http-proxy-middleware and the rest. */
export interface TransportHandlers {
  /** The upstream request exists and its headers are not sent yet: write the body here. */
  onProxyReq(proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse): void;
  /** Upstream headers arrived; the handler owns the response from here on. */
  onProxyRes(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void;
  /** Connecting or sending failed (refused, reset, timed out). */
  onError(err: Error & { code?: string }, req: IncomingMessage, res: ServerResponse): void;
}

export type Transport = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * http-proxy-middleware set up once per route: keep-alive agent, the upstream URL as the whole
 * target (`ignorePath`, so the mount path never leaks upstream), and responses left to us.
 * Its default plugins are ejected: they log through console and answer errors in HTML/text.
 */
export function createTransport(upstreamUrl: URL, agent: Agent, handlers: TransportHandlers): Transport {
  return createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: {
      protocol: upstreamUrl.protocol,
      host: upstreamUrl.hostname,
      hostname: upstreamUrl.hostname.replace(/^\[|\]$/g, ''),
      port: upstreamUrl.port || (upstreamUrl.protocol === 'https:' ? '443' : '80'),
      path: upstreamUrl.pathname + upstreamUrl.search,
    } as never,
    agent,
    changeOrigin: true,
    ignorePath: true,
    selfHandleResponse: true,
    ejectPlugins: true,
    plugins: [
      (proxyServer) => {
        proxyServer.on('proxyReq', handlers.onProxyReq);
        proxyServer.on('proxyRes', handlers.onProxyRes);
        proxyServer.on('error', (err, req, res) => handlers.onError(err, req, res as ServerResponse));
        // The client hung up while we were connecting; http-proxy aborts the upstream itself.
        proxyServer.on('econnreset', () => undefined);
      },
    ],
  });
}
