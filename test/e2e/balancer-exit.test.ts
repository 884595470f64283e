/**
 * No timer or socket of a balanced route keeps the process alive once the app closes: a child
 * process runs one (health checks, keep-alive comments, queue, total time limit, a dead target)
 * and must exit by itself, with or without the route's `close()`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';

function runChild(arg: string): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../support/balancer-exit-child.ts'), arg], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, out, ms: Date.now() - started });
    }),
  );
}

for (const mode of ['close', 'no-close']) {
  test(`the process exits on its own after the app closes (${mode === 'close' ? 'with' : 'without'} the route's close())`, async () => {
    const r = await runChild(mode);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), '200,200,200,200,200,200');
  });
}
