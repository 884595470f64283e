// Sends `warm` requests (8 at a time), zeroes callgrind's counters, sends `n` more, dumps the counters.
const http = require('node:http');
const { execFileSync } = require('node:child_process');

const [port, pid, warm, n] = process.argv.slice(2, 6).map(Number);
const stream = process.argv[6] === 'stream';
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
// The bench's request (bench/payloads.ts, `chatRequestBody`), repeated: this file runs on plain node, without tsx.
const body = Buffer.from(
  JSON.stringify({
    model: 'llama2',
    messages: [
      { role: 'system', content: 'You are a helpful assistant. Answer in two sentences.' },
      { role: 'user', content: 'What is the capital of France, and what is it famous for?' },
    ],
    max_tokens: 256,
    temperature: 0.7,
    stream,
  }),
);

function one() {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/chat/completions',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function batch(count) {
  let left = count;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left-- > 0) await one();
    }),
  );
}

(async () => {
  // The proxy starts slowly under valgrind.
  for (;;) {
    try {
      await one();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  await batch(warm);
  execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
  await batch(n);
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
