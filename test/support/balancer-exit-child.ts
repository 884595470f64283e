/**
 * Run as a child process by test/e2e/balancer-exit.test.ts: a balanced route with health checks,
 * keep-alive comments, a queue and a breaker serves a few requests, then the app's server closes.
 * The route's own `close()` is called only when argv[2] is `close`: its timers are unref'd, so the
 * process must exit on its own either way.
 */
import { aiProxy } from '../../lib';
import { post } from './http-client';
import { startApp } from './proxy-app';
import { startOllama } from './upstreams';

async function main(): Promise<void> {
  const up = await startOllama();
  const target = (name: string) => ({
    name,
    model: { provider: 'llama2' as const, name: 'llama2', options: { llama2_format: 'ollama' as const, upstream_url: `${up.url}/api/chat` } },
    max_concurrency: 1,
  });
  const mw = aiProxy({
    route_type: 'llm/v1/chat',
    targets: [
      target('a'),
      target('b'),
      { ...target('dead'), model: { ...target('dead').model, options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:1/api/chat' } } },
    ],
    balancer: { health_checks: { enabled: true, interval: 20 }, sse_keepalive_interval: 10, upstream_total_timeout: 60_000, queue: { max_wait: 60_000 } },
  });
  const app = await startApp((a) => a.use('/chat', mw));
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) => post(`${app.url}/chat`, { messages: [{ role: 'user', content: 'hi' }], stream: i % 2 === 0 })),
  );
  process.stdout.write(results.map((r) => r.status).join(',') + '\n');
  if (process.argv[2] === 'close') mw.close();
  await app.close();
  await up.close();
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exitCode = 1;
});
