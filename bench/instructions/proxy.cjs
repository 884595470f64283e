// The proxy under count: Express + aiProxy (ollama chat) from the built package of the tree given.
const http = require('node:http');
const path = require('node:path');

const [root, upstreamPort, port] = process.argv.slice(2);
const express = require(path.join(root, 'node_modules/express'));
const { aiProxy } = require(path.join(root, 'dist/index.js'));

const app = express();
app.post(
  '/v1/chat/completions',
  aiProxy({
    route_type: 'llm/v1/chat',
    model: { provider: 'llama2', name: 'llama2', options: { llama2_format: 'ollama', upstream_url: `http://127.0.0.1:${upstreamPort}/api/chat` } },
  }),
);
const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1');
