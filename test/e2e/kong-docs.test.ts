/**
 * The Kong docs' Llama 2 setup, verbatim, against the example app (a real child process) and a
 * loopback Ollama-format upstream: the two admin-API curl commands on port 8001 and the chat curl on
 * port 8000 (only the ports are swapped for free ones), the docs' YAML route, and what a user sees
 * with the docs' `…:11434/v1/chat` URL, which a real Ollama does not serve.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AiProxyConfigError, configWarnings, loadRoutes } from '../../lib';
import { post } from '../support/http-client';
import { DEFAULT_TEXT, type FakeUpstream, startOllama } from '../support/upstreams';

const ROOT = path.join(__dirname, '..', '..');

// The docs' commands, character for character (older page: /v1/chat and a stray "\ " at the end).
const DOCS_CREATE_ROUTE = `curl -X POST http://localhost:8001/services/ai-proxy/routes \\
    --data "name=llama2-chat" \\
    --data "paths[]=~/llama2-chat$"`;
const DOCS_ADD_PLUGIN_OLD = `curl -X POST http://localhost:8001/routes/llama2-chat/plugins \\
    --data "name=ai-proxy" \\
    --data "config.route_type=llm/v1/chat" \\
    --data "config.model.provider=llama2" \\
    --data "config.model.name=llama2" \\
    --data "config.model.options.llama2_format=ollama" \\
    --data "config.model.options.upstream_url=http://ollama-server.local:11434/v1/chat" \\ `;
// The current page: /api/chat.
const DOCS_ADD_PLUGIN = `curl -X POST http://localhost:8001/routes/llama2-chat/plugins \\
  --data "name=ai-proxy" \\
  --data "config.route_type=llm/v1/chat" \\
  --data "config.model.provider=llama2" \\
  --data "config.model.name=llama2" \\
  --data "config.model.options.llama2_format=ollama" \\
  --data "config.model.options.upstream_url=http://ollama-server.local:11434/api/chat"`;
const DOCS_TEST = `curl -X POST http://localhost:8000/llama2-chat \\
  -H 'Content-Type: application/json' \\
  --data-raw '{ "messages": [ { "role": "system", "content": "You are a mathematician" }, { "role": "user", "content": "What is 1+1?"} ] }'`;

interface ExampleApp {
  port: number;
  adminPort: number;
  output: () => string;
  close(): Promise<void>;
}

async function startExample(env: Record<string, string>): Promise<ExampleApp> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'example-app/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ADMIN_PORT: '0', DEBUG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    const adminPort = /admin API .* on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    if (port && adminPort) {
      return {
        port: Number(port),
        adminPort: Number(adminPort),
        output: () => out,
        close: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))),
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`example app did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a docs command through bash with only the ports swapped; resolves with curl's output. */
function runDocs(command: string, app: ExampleApp): Promise<{ stdout: string; code: number }> {
  const cmd = command.replaceAll('localhost:8000', `localhost:${app.port}`).replaceAll('localhost:8001', `localhost:${app.adminPort}`);
  return new Promise((resolve) => {
    execFile('bash', ['-c', `${cmd.replace(/^curl /, 'curl -sS --max-time 10 ')}`], (err, stdout) =>
      resolve({ stdout, code: err ? Number((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

let ollama: FakeUpstream;
before(async () => {
  ollama = await startOllama();
});
after(() => ollama.close());

describe("the docs' admin-API walk-through", () => {
  let app: ExampleApp;
  before(async () => {
    app = await startExample({ UPSTREAM_URL: `${ollama.url}/api/chat`, ROUTES_FILE: '' });
  });
  after(() => app.close());

  test('the older page (…:11434/v1/chat): route and plugin are created; the chat gets a 404 that says what to change', async () => {
    const route = await runDocs(DOCS_CREATE_ROUTE, app);
    assert.equal(route.code, 0);
    const r = JSON.parse(route.stdout);
    assert.equal(r.name, 'llama2-chat');
    assert.deepEqual(r.paths, ['~/llama2-chat$']);
    // The stray "\ " makes curl try a URL " " after the POST: curl fails, the POST was made.
    const plugin = await runDocs(DOCS_ADD_PLUGIN_OLD, app);
    const p = JSON.parse(plugin.stdout.slice(0, plugin.stdout.lastIndexOf('}') + 1));
    assert.equal(p.name, 'ai-proxy');
    assert.equal(p.config.model.options.upstream_url, `${ollama.url}/v1/chat`);
    assert.match(app.output(), /warning: route llama2-chat: model\.options\.upstream_url ".*\/v1\/chat" is not a path Ollama serves for llm\/v1\/chat/);

    const chat = await runDocs(DOCS_TEST, app);
    const e = JSON.parse(chat.stdout).error;
    assert.equal(e.code, 'upstream_path_not_found');
    assert.match(
      e.message,
      new RegExp(
        `the upstream answered 404: model\\.options\\.upstream_url "${ollama.url}/v1/chat" is not a path Ollama serves for llm/v1/chat: Ollama's native API is /api/chat\\. Set model\\.options\\.upstream_url to "${ollama.url}/api/chat"`,
      ),
    );
    assert.equal(ollama.last().path, '/v1/chat');
  });

  test("GET, DELETE and the current page (…/api/chat): the docs' chat curl answers", async () => {
    const plugins = await post(`http://127.0.0.1:${app.adminPort}/routes/llama2-chat/plugins`, undefined, { method: 'GET' });
    assert.equal(plugins.json.data.length, 1);
    const list = await post(`http://127.0.0.1:${app.adminPort}/routes`, undefined, { method: 'GET' });
    assert.deepEqual(
      list.json.data.map((r: { name: string }) => r.name),
      ['llama2-chat'],
    );
    const del = await post(`http://127.0.0.1:${app.adminPort}/routes/llama2-chat/plugins/${plugins.json.data[0].id}`, undefined, { method: 'DELETE' });
    assert.equal(del.status, 204);

    assert.equal((await runDocs(DOCS_ADD_PLUGIN, app)).code, 0);
    const chat = await runDocs(DOCS_TEST, app);
    const answer = JSON.parse(chat.stdout);
    assert.equal(answer.object, 'chat.completion');
    assert.equal(answer.choices[0].message.content, DEFAULT_TEXT);
    assert.equal(ollama.last().path, '/api/chat');
    assert.deepEqual(ollama.last().body.messages[0], { role: 'system', content: 'You are a mathematician' });

    assert.equal((await post(`http://127.0.0.1:${app.adminPort}/routes/llama2-chat`, undefined, { method: 'DELETE' })).status, 204);
    const gone = await post(`http://127.0.0.1:${app.adminPort}/routes`, undefined, { method: 'GET' });
    assert.deepEqual(gone.json.data, []);
  });

  test("an invalid config is a 400 with the schema's messages; numbers and booleans in form fields are converted", async () => {
    const admin = `http://127.0.0.1:${app.adminPort}`;
    const form = (fields: Record<string, string>) => ({
      raw: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal((await post(`${admin}/services/ai-proxy/routes`, undefined, form({ name: 'conv', 'paths[]': '/conv' }))).status, 201);
    const bad = await post(
      `${admin}/routes/conv/plugins`,
      undefined,
      form({
        name: 'ai-proxy',
        'config.route_type': 'llm/v1/chat',
        'config.model.provider': 'llama2',
        'config.model.options.llama2_format': 'ollamaa',
        'config.model.options.upstream_url': 'http://127.0.0.1:1/api/chat',
      }),
    );
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /model\.options\.llama2_format must be one of "raw", "ollama", "openai", got "ollamaa"/);
    assert.ok(bad.json.fields['model.options.llama2_format']);
    const ok = await post(
      `${admin}/routes/conv/plugins`,
      undefined,
      form({
        name: 'ai-proxy',
        'config.route_type': 'llm/v1/chat',
        'config.model.provider': 'llama2',
        'config.model.name': 'llama2',
        'config.model.options.llama2_format': 'ollama',
        'config.model.options.upstream_url': `${ollama.url}/api/chat`,
        'config.model.options.temperature': '0.25',
        'config.model_name_header': 'false',
      }),
    );
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.config.model.options.temperature, 0.25);
    const r = await post(`http://127.0.0.1:${app.port}/conv`, { messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(ollama.last().body.options.temperature, 0.25);
    assert.equal(r.headers.get('x-llm-model'), null);
  });
});

describe("the docs' YAML route", () => {
  test("example-app/routes.yaml answers the docs' chat curl, beside /v1 and /health", async () => {
    const app = await startExample({ UPSTREAM_URL: `${ollama.url}/api/chat` });
    try {
      const chat = await runDocs(DOCS_TEST, app);
      assert.equal(JSON.parse(chat.stdout).choices[0].message.content, DEFAULT_TEXT);
      assert.equal(ollama.last().path, '/api/chat');
      const models = await post(`http://127.0.0.1:${app.port}/v1/models`, undefined, { method: 'GET' });
      assert.deepEqual(
        models.json.data.map((m: { id: string }) => m.id),
        ['llama2', 'nomic-embed-text'],
      );
      const health = await post(`http://127.0.0.1:${app.port}/health`, undefined, { method: 'GET' });
      assert.deepEqual(health.json, { status: 'ok', upstream: 'configured' });
      // Kong's regex path is anchored: a sub-path is not this route (the env route answers it with a hint).
      const sub = await post(`http://127.0.0.1:${app.port}/llama2-chat/responses`, { input: 'x' });
      assert.equal(sub.status, 404);
    } finally {
      await app.close();
    }
  });

  test('with no upstream configured, the demo upstream answers, labelled as such', async () => {
    const app = await startExample({ UPSTREAM_URL: '' });
    try {
      const chat = await runDocs(DOCS_TEST, app);
      assert.match(JSON.parse(chat.stdout).choices[0].message.content, /DEMO upstream, not from a model/);
      assert.match(app.output(), /started the DEMO upstream on http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await app.close();
    }
  });

  test("the older page's YAML (short form, /v1/chat) loads, with a warning naming the fix", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kong-yaml-'));
    const file = path.join(dir, 'old.yaml');
    writeFileSync(
      file,
      `name: llama2-chat
paths:
  - "~/llama2-chat$"
methods:
  - POST
plugins:
  - name: ai-proxy
    config:
      route_type: "llm/v1/chat"
      model:
        provider: "llama2"
        name: "llama2"
        llama2_format: "ollama"
        upstream_url: "http://llama2-server.local:11434/v1/chat"
`,
    );
    const routes = loadRoutes(file);
    const spec = routes.routes.get('llama2-chat')!.spec;
    assert.deepEqual(spec.methods, ['POST']);
    assert.deepEqual(configWarnings(spec.plugins![0]!.config), [
      'model.options.upstream_url "http://llama2-server.local:11434/v1/chat" is not a path Ollama serves for llm/v1/chat: Ollama\'s native API is /api/chat. Set model.options.upstream_url to "http://llama2-server.local:11434/api/chat" (or use llama2_format "openai" with "http://llama2-server.local:11434/v1/chat/completions")',
    ]);
  });

  test('validation errors name the route and the field, all at once', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kong-yaml-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `_format_version: "3.0"
routes:
  - name: llama2-chat
    paths: ["~/llama2-chat$"]
    methods: [POST, FETCH]
    plugins:
      - name: ai-proxy
        config:
          route_type: llm/v1/chat
          model:
            provider: llama2
            options:
              llama2_format: ollama
              upstream_url: not-a-url
              temperature: "0.5"
  - name: second
    paths: ["~/(unclosed$"]
  - name: third
    paths: []
    plugins:
      - name: rate-limiting
        config: {}
`,
    );
    assert.throws(
      () => loadRoutes(file),
      (err: AiProxyConfigError) => {
        assert.ok(err instanceof AiProxyConfigError);
        const paths = err.details.map((d) => d.path);
        assert.deepEqual(paths, ['routes[0].methods.1', 'routes[1].paths[0]', 'routes[2].paths', 'routes[2].plugins.0.name']);
        assert.match(err.message, /routes\[0\] \(llama2-chat\): methods\.1 must be one of/);
        assert.match(err.message, /routes\[1\] \(second\): paths\[0\] is not a valid regex/);
        assert.match(err.message, /routes\[2\] \(third\): paths must contain at least 1 items/);
        assert.match(err.message, /routes\[2\] \(third\): plugins\.0\.name must be \[ai-proxy\]/);
        return true;
      },
    );
    // Once the route's own fields are right, its plugin config is checked by aiProxy's schema.
    writeFileSync(
      file,
      `name: llama2-chat
paths: ["~/llama2-chat$"]
plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      model:
        provider: llama2
        options:
          llama2_format: ollama
          upstream_url: not-a-url
          temperature: "0.5"
`,
    );
    assert.throws(
      () => loadRoutes(file),
      (err: AiProxyConfigError) => {
        assert.deepEqual(
          err.details.map((d) => d.path),
          ['routes[0].plugins[0].config.model.options.upstream_url', 'routes[0].plugins[0].config.model.options.temperature'],
        );
        assert.match(err.message, /routes\[0\] \(llama2-chat\): plugins\[0\]\.config\.model\.options\.upstream_url must be an absolute http\(s\) URL/);
        assert.match(err.message, /plugins\[0\]\.config\.model\.options\.temperature must be a number/);
        return true;
      },
    );
    writeFileSync(file, 'name: [unclosed');
    assert.throws(() => loadRoutes(file), /bad\.yaml is not valid YAML/);
  });
});
