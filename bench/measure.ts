/** Load generation: autocannon with exact (sub-millisecond) latencies, and a one-shot probe. */
import http from 'node:http';
import autocannon from 'autocannon';

/** What one autocannon run measured. */
export interface LoadResult {
  /** 2xx answers per second over the run. */
  reqPerSec: number;
  /** Completed 2xx answers. */
  ok: number;
  /** Latency percentiles of 2xx answers, ms. */
  p50: number;
  p99: number;
  /** Socket errors + timeouts + non-2xx answers. */
  errors: number;
  /** Every 2xx latency, ms, ascending (to pool runs). */
  latencies: Float64Array;
  /** Measured wall time, s. */
  seconds: number;
}

/** The `q` quantile (0..1) of an ascending array, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

/**
 * Runs autocannon against `url` with `body` POSTed on every request. autocannon's own histogram
 * keeps whole milliseconds; its `response` event carries the exact time, which is what we keep.
 */
export function load(url: string, body: Buffer, connections: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections,
        duration: seconds,
      },
      (err, result) => {
        if (err) return reject(err);
        const sorted = Float64Array.from(latencies).sort();
        const elapsed = result.duration > 0 ? result.duration : seconds;
        resolve({
          reqPerSec: result['2xx'] / elapsed,
          ok: result['2xx'],
          p50: quantile(sorted, 0.5),
          p99: quantile(sorted, 0.99),
          errors: result.errors + result.timeouts + result.non2xx,
          latencies: sorted,
          seconds: elapsed,
        });
      },
    );
    instance.on('response', (_client, status, _bytes, responseTime) => {
      if (status >= 200 && status < 300) latencies.push(responseTime);
    });
  });
}

/** A whole answer, read once to check that a row does what it claims before it is measured. */
export interface ProbeResult {
  status: number;
  contentType: string;
  body: string;
}

/** POSTs `body` to `url` once and reads the whole answer. */
export function probe(url: string, body: Buffer): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(parts).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`probe of ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}
