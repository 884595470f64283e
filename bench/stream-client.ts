/**
 * A deliberately thin streaming client for the scale mode: one raw TCP connection per stream,
 * `Connection: close`, no HTTP parser. With 1,000 streams × 200 chunks the client side shares a
 * core with the upstream; node's http client (llhttp, IncomingMessage, stream events) costs about
 * twice as much per chunk, which would make the load generator, not the proxy, the bottleneck.
 */
import net from 'node:net';
import { FIRST_TOKEN } from './payloads';

/** How one stream went. */
export interface StreamOutcome {
  ok: boolean;
  /** ms from connect() to the arrival of the first token's bytes; NaN if never. */
  ttfc: number;
  /** ms from connect() to the end of the answer. */
  total: number;
  /** Frames seen (SSE `data:` events or NDJSON lines). */
  events: number;
  error?: string;
}

/** What a stream is checked against. */
export interface StreamSpec {
  port: number;
  path: string;
  body: Buffer;
  /** SSE (aiProxy) or NDJSON (the passthrough of Ollama). */
  sse: boolean;
  /** performance.now() after which the stream is abandoned. */
  deadline: number;
}

const CRLF_END = Buffer.from('\r\n0\r\n\r\n');

/** The request bytes, built once per spec. */
export function requestBytes(spec: Pick<StreamSpec, 'port' | 'path' | 'body'>): Buffer {
  const head =
    `POST ${spec.path} HTTP/1.1\r\nHost: 127.0.0.1:${spec.port}\r\nContent-Type: application/json\r\n` +
    `Accept: text/event-stream\r\nContent-Length: ${spec.body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), spec.body]);
}

/**
 * Runs one stream. Frames are counted by a marker (`data: ` for SSE, `"done":` for NDJSON lines),
 * including a marker split across two reads. A stream is complete when the answer is 200, its
 * chunked body ends properly and it carries the format's terminator (`data: [DONE]`, or the
 * `"done":true` line).
 */
export function runStream(spec: StreamSpec, request: Buffer): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const marker = spec.sse ? 'data: ' : '"done":';
    const t0 = performance.now();
    let ttfc = NaN;
    let events = 0;
    let status = 0;
    let carry = '';
    let last: Buffer | undefined;
    let prev: Buffer | undefined;
    let settled = false;
    const socket = net.connect(spec.port, '127.0.0.1');
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: error === undefined, ttfc, total: performance.now() - t0, events, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish('deadline'), Math.max(0, spec.deadline - performance.now()));
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      if (status === 0) status = Number(chunk.toString('latin1', 9, 12));
      if (Number.isNaN(ttfc) && chunk.includes(FIRST_TOKEN)) ttfc = performance.now() - t0;
      for (let i = chunk.indexOf(marker); i !== -1; i = chunk.indexOf(marker, i + marker.length)) events++;
      if (carry) {
        const joint = carry + chunk.toString('latin1', 0, Math.min(chunk.length, marker.length - 1));
        const at = joint.indexOf(marker);
        if (at !== -1 && at < carry.length) events++;
      }
      carry = chunk.toString('latin1', Math.max(0, chunk.length - (marker.length - 1)));
      prev = last;
      last = chunk;
    });
    socket.on('end', () => {
      if (status !== 200) return finish(`HTTP ${status || 'none'}`);
      const tail = Buffer.concat(prev ? [prev, last ?? Buffer.alloc(0)] : [last ?? Buffer.alloc(0)]);
      const ended = tail.subarray(-CRLF_END.length).equals(CRLF_END);
      const terminated = spec.sse ? tail.includes('data: [DONE]') : tail.includes('"done":true');
      finish(ended && terminated ? undefined : 'truncated');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
  });
}
