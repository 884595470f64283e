import type { IncomingMessage } from 'node:http';

/** Reads a whole (non-streamed) upstream answer, giving up past `limit` bytes. */
export function readUpstreamBody(proxyRes: IncomingMessage, limit: number, done: (err: Error | undefined, body: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const finish = (err: Error | undefined, body: string) => {
    if (settled) return;
    settled = true;
    done(err, body);
  };
  proxyRes.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      proxyRes.destroy();
      finish(new Error(`the upstream answer is larger than ${limit} bytes (max_response_body_size)`), '');
      return;
    }
    chunks.push(chunk);
  });
  proxyRes.on('end', () => finish(undefined, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8')));
  proxyRes.on('error', (err) => finish(err, ''));
  proxyRes.on('close', () => {
    if (!proxyRes.complete) finish(new Error('the upstream connection closed before the answer was complete'), '');
  });
}
