/**
 * The example app's DEMO upstream: a tiny server speaking Ollama's native API (`/api/chat`,
 * `/api/generate`, `/api/embed`; NDJSON streams; `404 page not found` elsewhere), started on
 * loopback only when no upstream is configured, so the docs' curl answers on a fresh machine.
 * Its answers are canned and say so: it is not a model.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const DEMO_ANSWER =
  'This answer comes from the express-ai-proxy DEMO upstream, not from a model. Set UPSTREAM_URL to your Llama 2 server (e.g. Ollama).';

function vector(text: string): number[] {
  const v = Array.from({ length: 8 }, (_, i) => Math.sin((text.length + 1) * (i + 1)));
  const norm = Math.hypot(...v) || 1;
  return v.map((n) => n / norm);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
  const path = (req.url ?? '/').split('?')[0];
  const route = path === '/api/chat' ? 'chat' : path === '/api/generate' ? 'generate' : path === '/api/embed' ? 'embed' : undefined;
  if (!route) return send(res, 404, '404 page not found');
  if (req.method !== 'POST') return send(res, 405, '405 method not allowed');
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw);
  } catch {
    return send(res, 400, { error: 'invalid JSON in request body' });
  }
  const model = typeof body.model === 'string' && body.model ? body.model : undefined;
  if (!model) return send(res, 400, { error: 'model is required' });
  const created_at = new Date().toISOString();
  if (route === 'embed') {
    const input = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input.map(String) : [];
    return send(res, 200, { model, embeddings: input.map(vector), prompt_eval_count: input.length });
  }
  const content = (t: string) => (route === 'chat' ? { message: { role: 'assistant', content: t } } : { response: t });
  const final = { model, created_at, ...content(''), done: true, done_reason: 'stop', prompt_eval_count: 10, eval_count: 24 };
  if (body.stream === false) return send(res, 200, { ...final, ...content(DEMO_ANSWER) });
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for (const piece of DEMO_ANSWER.split(/(?= )/)) res.write(`${JSON.stringify({ model, created_at, ...content(piece), done: false })}\n`);
  res.end(`${JSON.stringify(final)}\n`);
}

/** Starts the demo upstream on 127.0.0.1 (a free port); resolves with its origin. */
export async function startDemoUpstream(): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1024 * 1024) chunks.push(c);
    });
    req.on('end', () => (size > 1024 * 1024 ? send(res, 413, { error: 'request too large' }) : handle(req, res, Buffer.concat(chunks).toString('utf8'))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
