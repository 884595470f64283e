/**
 * The real llama.cpp server (/work/shared/llamacpp) started with `--embeddings --pooling mean` on
 * 127.0.0.1, for the embeddings tests: its native `/embedding` and OpenAI-compatible `/v1/embeddings`
 * are the reference, not a fake.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = process.env.LLAMACPP_DIR ?? '/work/shared/llamacpp';

export interface RealLlama {
  url: string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRealLlamaEmbeddings(): Promise<RealLlama> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    `${ROOT}/bin/llama-server`,
    ['-m', `${ROOT}/models/llama2-tiny-hello.gguf`, '--host', '127.0.0.1', '--port', String(port), '-c', '512', '--embeddings', '--pooling', 'mean', '-t', '1'],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('llama-server did not start within 20 s');
    }
    await sleep(100);
  }
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
