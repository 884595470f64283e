/**
 * The transport's own failure path: http-proxy-middleware's handler is async and passes its errors
 * to `next`; if that `next` throws, the rejection must be answered, never left unhandled in the
 * host server.
 */
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { transportFor, type TargetOf } from '../../lib/proxy';
import { newAttempt } from '../../lib/transport/stale-socket';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function serve(targetOf: TargetOf): Promise<string> {
  const transport = transportFor(new Agent({ keepAlive: false }), targetOf);
  const server = createServer((req, res) =>
    transport(req, res, () => {
      throw new Error('next threw');
    }),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function watchRejections(): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onRejection);
  return { seen, stop: () => process.off('unhandledRejection', onRejection) };
}

test('a next() that throws: the route answers through its onError handler, no unhandled rejection', async () => {
  const watch = watchRejections();
  let calls = 0;
  const url = await serve(() => {
    // The first lookup (http-proxy-middleware's router) fails, so it calls next(err).
    if (calls++ === 0) throw new Error('no target');
    return {
      attempt: newAttempt(),
      upstream: {
        target: { protocol: 'http:', host: '127.0.0.1', hostname: '127.0.0.1', port: '9', path: '/' },
        handlers: {
          onProxyReq: () => undefined,
          onProxyRes: () => undefined,
          onError: (err: Error, _req: IncomingMessage, res: ServerResponse) => {
            res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: err.message } }));
          },
        },
      },
    };
  });
  const res = await fetch(url, { method: 'POST', body: '{}' });
  assert.equal(res.status, 502);
  assert.deepEqual(await res.json(), { error: { message: 'next threw' } });
  await new Promise((resolve) => setImmediate(resolve));
  watch.stop();
  assert.deepEqual(watch.seen, []);
});

test('a next() that throws and no route to answer: a bare 502, no unhandled rejection', async () => {
  const watch = watchRejections();
  const url = await serve(() => {
    throw new Error('no target');
  });
  const res = await fetch(url, { method: 'POST', body: '{}' });
  assert.equal(res.status, 502);
  assert.equal(await res.text(), '');
  await new Promise((resolve) => setImmediate(resolve));
  watch.stop();
  assert.deepEqual(watch.seen, []);
});
