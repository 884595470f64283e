// A fake Ollama /api/chat for the instruction count: the bench's answer (JSON, or 50 NDJSON lines).
// The JSON answer leaves out the four `*_duration` fields the bench's (bench/payloads.ts) carries,
// so that counts stay comparable with those recorded before; OLLAMA_DURATIONS=1 adds them.
const http = require('node:http');

const created_at = '2024-12-06T00:46:58.265747Z';
const content =
  'Sure! Paris is the capital of France. It is famous for the Eiffel Tower, the Louvre museum, its cafés, fashion houses and centuries of art, science and political history along the river Seine.';
const json = Buffer.from(
  JSON.stringify({
    model: 'llama2',
    created_at,
    message: { role: 'assistant', content },
    done_reason: 'stop',
    done: true,
    prompt_eval_count: 34,
    eval_count: 35,
    ...(process.env.OLLAMA_DURATIONS === '1'
      ? { total_duration: 2254970291, load_duration: 574751416, prompt_eval_duration: 1502000000, eval_duration: 175000000 }
      : {}),
  }),
);
const lines = Array.from({ length: 50 }, (_, i) =>
  Buffer.from(JSON.stringify({ model: 'llama2', created_at, message: { role: 'assistant', content: ` tok${i}` }, done: false }) + '\n'),
);
const last = Buffer.from(
  JSON.stringify({
    model: 'llama2',
    created_at,
    message: { role: 'assistant', content: '' },
    done_reason: 'stop',
    done: true,
    prompt_eval_count: 34,
    eval_count: 50,
  }) + '\n',
);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (JSON.parse(Buffer.concat(chunks).toString()).stream === false) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': json.length }).end(json);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const line of lines) res.write(line);
    res.end(last);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2]), '127.0.0.1');
