import type { Agent, ClientRequest, IncomingMessage, ServerResponse } from 'node:http';

/**
 * How long an idle upstream connection stays in the default agents' pools, in ms. Servers close idle
 * keep-alive connections on their own (uvicorn, under vLLM, after 5 s; several others after 1 s), and
 * a request sent on a connection the server is closing fails. Half a second stays below all of those.
 */
export const IDLE_SOCKET_MS = 500;

/** Errors of a connection the server had already closed (or was closing) when we wrote to it. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** What the transport knows about the current upstream attempt of one client request. */
export interface Attempt {
  proxyReq: ClientRequest | undefined;
  /** The upstream's answer headers have arrived. */
  responded: boolean;
  /** This request has already been sent a second time. */
  retried: boolean;
}

/** A fresh attempt record, made with the request's other state (see `TransportRequest`). */
export function newAttempt(): Attempt {
  return { proxyReq: undefined, responded: false, retried: false };
}

/**
 * Whether a failed upstream request is sent once more, transparently. Only when the failure is the
 * pool's fault, never the upstream's: the request went out on a **reused** keep-alive connection
 * (llama.cpp's server closes the connection after every streamed answer although it announced
 * keep-alive; any server may close an idle one just as we pick it), the connection broke before any
 * byte of the answer, the client is still there, and it has not been retried yet. A fresh
 * connection that fails is the upstream's failure (502), and so is a second failure.
 */
export function shouldRetry(err: Error & { code?: string }, req: IncomingMessage, res: ServerResponse, attempt: Attempt | undefined): boolean {
  if (attempt === undefined || attempt.retried || attempt.responded) return false;
  if (attempt.proxyReq?.reusedSocket !== true) return false;
  if (err.code === undefined || !STALE_SOCKET_CODES.has(err.code)) return false;
  return !res.headersSent && !res.destroyed && req.socket?.destroyed !== true;
}

/**
 * Closes the agent's idle connections to this upstream: when the server has closed one pooled
 * connection under us, its other idle ones are as suspect (llama.cpp closes each one after a
 * stream), and the retry must go out on a fresh connection, not on the next stale one. Called
 * right before the retry, in the same tick, so that the retry finds no idle socket to that server.
 * The pool is keyed `host:port:…` by Node's agent (`Agent.getName`), which is all we need: nothing
 * about the socket is recorded per request.
 */
export function dropIdleSockets(agent: Agent, hostname: string, port: string): void {
  const prefix = `${hostname}:${port}:`;
  for (const [name, sockets] of Object.entries(agent.freeSockets)) {
    if (!name.startsWith(prefix)) continue;
    for (const socket of [...(sockets ?? [])]) socket.destroy();
  }
}
