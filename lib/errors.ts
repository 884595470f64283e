import type { ServerResponse } from 'node:http';
import type { ErrorBody } from './openai-types';
import { redactorOf } from './redact';

/** One problem found in an `aiProxy()` config. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `model.options.upstream_url`. */
  path: string;
  message: string;
}

/** Thrown by `aiProxy()` and `validateConfig()` when the config is invalid; lists every problem. */
export class AiProxyConfigError extends Error {
  /** Stable code to branch on. */
  readonly code = 'ERR_AI_PROXY_CONFIG';
  readonly details: ConfigProblem[];

  constructor(details: ConfigProblem[]) {
    super(
      `Invalid express-ai-proxy config (${details.length} problem${details.length === 1 ? '' : 's'}):\n` + details.map((d) => `  - ${d.message}`).join('\n'),
    );
    this.name = 'AiProxyConfigError';
    this.details = details;
  }
}

/** An upstream answer that cannot be read as the configured format (becomes a 502). */
export class UpstreamFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamFormatError';
  }
}

/**
 * An upstream answer marked unfinished by the upstream itself (Ollama `done: false`, llama.cpp
 * `stop: false`, an OpenAI choice with `finish_reason: null`): a 502 `incomplete_upstream_answer`,
 * never a partial text presented as finished.
 */
export class IncompleteUpstreamAnswerError extends UpstreamFormatError {
  static readonly code = 'incomplete_upstream_answer';
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteUpstreamAnswerError';
  }
}

/** A request-time failure with the status and OpenAI error type it is answered with. */
export class ProxyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = status >= 500 ? 'api_error' : 'invalid_request_error',
    readonly code: string | null = null,
    /** The request field the error is about (OpenAI's `param`), e.g. `tools` or `messages[1].content`. */
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ProxyError';
  }
}

export function errorBody(message: string, type: string, code: string | null = null, param: string | null = null): ErrorBody {
  return { error: { message, type, param, code } };
}

/**
 * Answers with OpenAI's error shape, unless the answer has already begun. With `secrets`, the body
 * passes the route's redactor (any error that may carry upstream text must give them).
 */
export function sendError(res: ServerResponse, err: ProxyError, extraHeaders?: Record<string, string>, secrets?: readonly string[]): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  let body = JSON.stringify(errorBody(err.message, err.type, err.code, err.param));
  if (secrets !== undefined) body = redactorOf(secrets).redact(body);
  res.writeHead(err.status, {
    ...extraHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
