// Tests what gets published: `npm pack`, then require / import / type-check the tarball's contents
// from CommonJS, ESM and TypeScript projects. The projects live under the repo so the tarball's
// runtime dependencies resolve from the repo's node_modules, as they would from an app's.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

const repo = resolve(__dirname, '../..');
const scratch = join(repo, '.scratch');
let project: string;

before(() => {
  mkdirSync(scratch, { recursive: true });
  project = mkdtempSync(join(scratch, 'package-'));
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', project], { cwd: repo, encoding: 'utf8' }).trim().split('\n').pop()!;
  const installed = join(project, 'node_modules', 'express-ai-proxy');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(project, packed), '-C', installed, '--strip-components=1']);
});

after(() => rmSync(project, { recursive: true, force: true }));

function run(file: string, source: string): string {
  writeFileSync(join(project, file), source);
  return execFileSync(process.execPath, [join(project, file)], { cwd: project, encoding: 'utf8' }).trim();
}

const usage = `
  const mw = aiProxy({ route_type: 'llm/v1/chat', model: { provider: 'llama2', name: 'llama2',
    options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/chat' } } });
  let code;
  try { validateConfig({ route_type: 'llm/v1/chat', model: { provider: 'llama2' } }); }
  catch (e) { code = (e instanceof AiProxyConfigError) + ':' + e.code + ':' + e.details.length; }
  console.log(typeof mw, code);
`;

test('the tarball holds exactly dist/, the README, the licence and package.json (.npmignore)', () => {
  const installed = join(project, 'node_modules', 'express-ai-proxy');
  assert.deepEqual(readdirSync(installed).sort(), ['LICENSE', 'README.md', 'dist', 'package.json']);
  const built = readdirSync(join(installed, 'dist'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  const notBuild = built.map((e) => e.name).filter((name) => !/\.(js|mjs|d\.ts|d\.mts)$/.test(name));
  assert.deepEqual(notBuild, []);
  assert.ok(built.some((e) => e.name === 'index.js') && built.some((e) => e.name === 'index.mjs'));
});

test('CommonJS require works', () => {
  assert.equal(
    run('cjs.cjs', `const { aiProxy, validateConfig, AiProxyConfigError } = require('express-ai-proxy');${usage}`),
    'function true:ERR_AI_PROXY_CONFIG:2',
  );
});

test('ESM import works and shares the CommonJS classes', () => {
  const out = run(
    'esm.mjs',
    `import { aiProxy, validateConfig, AiProxyConfigError } from 'express-ai-proxy';
     import { createRequire } from 'node:module';
     ${usage}
     console.log(createRequire(import.meta.url)('express-ai-proxy').AiProxyConfigError === AiProxyConfigError);`,
  );
  assert.equal(out, 'function true:ERR_AI_PROXY_CONFIG:2\ntrue');
});

test('TypeScript sees the types, for both module systems', () => {
  const source = `import { aiProxy, validateConfig, AiProxyConfigError, type AiProxyConfig, type ProxyStatistics } from 'express-ai-proxy';
const config: AiProxyConfig = { route_type: 'llm/v1/chat', model: { provider: 'llama2', options: { llama2_format: 'raw', upstream_url: 'http://h/generate' } },
  logging: { log_statistics: true, on_statistics: (s: ProxyStatistics) => void s.total_tokens } };
const mw: (req: any, res: any, next: any) => void = aiProxy(config);
const resolved = validateConfig(config);
const n: number = resolved.max_request_body_size;
const e = new AiProxyConfigError([{ path: 'x', message: 'y' }]);
// @ts-expect-error route_type is checked
const bad: AiProxyConfig = { route_type: 'llm/v1/images', model: { provider: 'llama2' } };
void [mw, n, e, bad];
`;
  writeFileSync(join(project, 'check.mts'), source);
  writeFileSync(join(project, 'check.cts'), source);
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  for (const file of ['check.mts', 'check.cts']) {
    execFileSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--types',
        'node',
        '--typeRoots',
        join(repo, 'node_modules/@types'),
        '--skipLibCheck',
        file,
      ],
      { cwd: project, encoding: 'utf8' },
    );
  }
});

test('aiProxyRouter and loadRoutes work from the tarball; YAML is read with the optional peer "yaml"', () => {
  writeFileSync(
    join(project, 'routes.yaml'),
    'name: llama2-chat\npaths: ["~/llama2-chat$"]\nplugins:\n  - name: ai-proxy\n    config:\n      route_type: llm/v1/chat\n      model: { provider: llama2, name: llama2, options: { llama2_format: ollama, upstream_url: "http://127.0.0.1:11434/api/chat" } }\n',
  );
  const out = run(
    'router.cjs',
    `const { aiProxyRouter, loadRoutes } = require('express-ai-proxy');
     const r = aiProxyRouter({ routes: [{ route_type: 'llm/v1/embeddings', model: { provider: 'llama2', name: 'e', options: { llama2_format: 'ollama', upstream_url: 'http://127.0.0.1:11434/api/embed' } } }] });
     const k = loadRoutes(${JSON.stringify(join(project, 'routes.yaml'))});
     console.log(typeof r, typeof k, k.routes.list().map((x) => x.spec.name).join());`,
  );
  assert.equal(out, 'function function llama2-chat');
});
