import type { Agent as HttpAgent, IncomingMessage, ServerResponse } from 'node:http';
import type { OllamaKnobs } from './contract/ollama-knobs';
import type { ForwardHeadersConfig } from './headers/upstream-headers';
import type { AiProxyOutcome, ObservabilityConfig } from './observability/types';

export type { ForwardHeadersConfig } from './headers/upstream-headers';
export type { OllamaKnobs };

/** The OpenAI-style route a mount point serves. */
export type RouteType = 'llm/v1/chat' | 'llm/v1/completions' | 'llm/v1/embeddings';

/** How the Llama 2 upstream is spoken to. */
export type Llama2Format = 'raw' | 'ollama' | 'openai';

/**
 * Which server a `raw` upstream is. `auto` picks from the upstream path: a path ending in
 * `/completion` or `/completions` is llama.cpp, anything else is TGI / HuggingFace.
 */
export type RawDialect = 'auto' | 'tgi' | 'llamacpp';

/** Model options, as in Kong's AI Proxy `config.model.options`. */
export interface ModelOptions {
  /** Wire format of the upstream. Required for the llama2 provider. */
  llama2_format?: Llama2Format;
  /** Absolute http(s) URL the request is sent to, exactly (path and query). Required for llama2. */
  upstream_url?: string;
  /** Server dialect for `raw`. Defaults to `auto` (chosen from the upstream path). */
  raw_dialect?: RawDialect;
  /** Upper bound of generated tokens; overrides the request's `max_tokens`. */
  max_tokens?: number;
  /** Sampling temperature, 0..5; overrides the request's `temperature`. */
  temperature?: number;
  /** Nucleus sampling, 0..1; overrides the request's `top_p`. */
  top_p?: number;
  /** Top-k sampling, integer 0..500; overrides the request's `top_k`. */
  top_k?: number;
  /** Cost of one million input tokens, for statistics (> 0). */
  input_cost?: number;
  /** Cost of one million output tokens, for statistics (> 0). */
  output_cost?: number;
  /** `ollama` format: Ollama settings OpenAI has no name for (`num_ctx`, `keep_alive`, `think`, …); they win over the request's. */
  ollama?: OllamaKnobs;
}

/** The model, as in Kong's `config.model`. */
export interface ModelConfig {
  /** Only `llama2` for now. */
  provider: 'llama2';
  /** Model name sent upstream. When unset, the request's `model` is used. */
  name?: string;
  options?: ModelOptions;
  /** Short form from the Kong docs' YAML example; folded into `options`. */
  llama2_format?: Llama2Format;
  /** Short form from the Kong docs' YAML example; folded into `options`. */
  upstream_url?: string;
}

/** Credentials the proxy adds to every upstream request. */
export interface AuthConfig {
  /** Header to set upstream, e.g. `Authorization`. Needs `header_value`. */
  header_name?: string;
  /** Value of `header_name`. A secret: never logged. */
  header_value?: string;
  /** Name of a query or body parameter to set upstream. Needs `param_value` and `param_location`. */
  param_name?: string;
  /** Value of `param_name`. A secret: never logged. */
  param_value?: string;
  /** Where `param_name` goes. */
  param_location?: 'query' | 'body';
  /** Keep a value the client sent itself for the same header or parameter. Defaults to false. */
  allow_override?: boolean;
}

/** What a route with several targets adds to the statistics of an answer. */
export interface BalanceStatistics {
  /** Name of the target that answered. */
  target: string;
  /** Names of every target tried, in order (the last one answered). */
  tried_targets: string[];
  /** Attempts after the first. */
  retries: number;
  /** Milliseconds spent waiting in a target's queue. */
  queued_ms: number;
}

/** Usage figures of one answer, handed to `logging.on_statistics`. */
export interface ProxyStatistics extends Partial<BalanceStatistics> {
  route_type: RouteType;
  provider: 'llama2';
  model: string;
  llama2_format: Llama2Format;
  streamed: boolean;
  status: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Dollars, when `input_cost` / `output_cost` are set (per million tokens). */
  cost?: number;
  /** Milliseconds from the request reaching the proxy to the end of the answer. */
  latency_ms: number;
  /** Present when `log_payloads` is true. */
  request_payload?: string;
  /** Present when `log_payloads` is true (non-streamed answers only). */
  response_payload?: string;
  /** How the request ended (see `AiProxyOutcome`). */
  outcome: AiProxyOutcome;
  /** The answer's `finish_reason`, when it had one. */
  finish_reason?: string;
  /** The request id: the client's valid `X-Request-Id`, or a new UUID; sent upstream and on the answer. */
  request_id: string;
  /** The upstream that served the request: its origin (no path, query or credentials). */
  target: string;
  /** The upstream's HTTP status, when it answered. */
  upstream_status?: number;
  /** Milliseconds from sending the upstream request to the last byte of its answer (streams: to the stream's end). */
  upstream_latency_ms?: number;
  /** Streams: milliseconds from the request reaching the proxy to the first frame sent to the client. */
  time_to_first_token_ms?: number;
  /** Streams: milliseconds per output token after the first (`completion_tokens` > 1). */
  time_per_output_token_ms?: number;
  /**
   * Where the token counts come from: the upstream's usage, or (streams cut short without usage:
   * aborted, truncated) `completion_tokens` counted as the content chunks relayed to the client.
   */
  usage_source: 'upstream' | 'relayed' | 'none';
}

/** Logging and request limits. */
export interface LoggingConfig {
  /** Log token counts and latency of each answer (through `debug`, and `on_statistics`). Defaults to false. */
  log_statistics?: boolean;
  /** Include request and response bodies in the statistics. Defaults to false. */
  log_payloads?: boolean;
  /**
   * Called once per request when `log_statistics` is true, after its answer ended, with the
   * request and response (the statistics are also on `res.locals.aiProxy`, whatever this setting).
   * May be async (typed `unknown` so that an async function fits; what it returns is otherwise
   * ignored); a throw or a rejection is logged (`express-ai-proxy:stats`) and never reaches the
   * answer or the process.
   */
  on_statistics?: (stats: ProxyStatistics, req: IncomingMessage, res: ServerResponse) => unknown;
}

/** The config `aiProxy()` takes: Kong's AI Proxy fields plus a few transport settings. */
export interface AiProxyConfig {
  route_type: RouteType;
  model: ModelConfig;
  auth?: AuthConfig;
  logging?: LoggingConfig;
  /** `allow`: the client decides; `deny`: streaming requests get 400; `always`: every answer is streamed. Defaults to `allow`. */
  response_streaming?: 'allow' | 'deny' | 'always';
  /** Largest request body accepted, in bytes. Defaults to 8 MiB. */
  max_request_body_size?: number;
  /** Send `X-LLM-Model: llama2/<model>` on answers. Defaults to true. */
  model_name_header?: boolean;
  /**
   * Milliseconds without a byte from the upstream, once its answer has started, before the request
   * fails with 504 (or, mid-stream, an error event). Defaults to 60000.
   */
  upstream_timeout?: number;
  /** Milliseconds to wait for the upstream's answer to start (cold model loads are slow): 504 after. Defaults to 300000. */
  upstream_first_byte_timeout?: number;
  /** Milliseconds an upstream answer may take in all, from the request sent to its last byte. Defaults to 1800000. */
  upstream_total_timeout?: number;
  /**
   * Milliseconds a streaming client may leave its socket full (not reading) before it is
   * disconnected as a slow client; the upstream is held back meanwhile, not blamed. Defaults to 60000.
   */
  client_write_timeout?: number;
  /** Largest non-streamed upstream answer accepted, in bytes. Defaults to 32 MiB. */
  max_response_body_size?: number;
  /** Agent for upstream connections. Defaults to a keep-alive agent shared by this middleware. */
  agent?: HttpAgent;
  /** Milliseconds a client has to send its whole request body before it is answered 408. Defaults to 30000. */
  request_body_timeout?: number;
  /** Which client headers go upstream beyond the default policy (see the README's "Upstream headers"). */
  forward_headers?: ForwardHeadersConfig;
  /** Request ids, Server-Timing, Prometheus metrics, OpenTelemetry. */
  observability?: ObservabilityConfig;
  /**
   * A client `model` other than `model.name`: `reject` answers 400 "cannot use own model" (Kong's
   * rule), `replace` sends `model.name` instead (clients such as LangChain always send a name of
   * their own). Defaults to `reject`.
   */
  client_model?: 'reject' | 'replace';
}
