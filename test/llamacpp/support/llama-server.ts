/**
 * Starts a real llama.cpp `llama-server` on 127.0.0.1 for the integration suite
 * (`npm run test:llamacpp`). Paths come from LLAMA_SERVER_BIN and LLAMA_MODEL, defaulting to the
 * copy in `../shared/llamacpp/` beside the repository. Started with one thread: the suite shares
 * the machine with everything else.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const repo = path.resolve(__dirname, '..', '..', '..');
const shared = path.resolve(repo, '..', 'shared', 'llamacpp');

/** The llama-server binary and model the suite uses. */
export const LLAMA_SERVER_BIN = process.env.LLAMA_SERVER_BIN || path.join(shared, 'bin', 'llama-server');
export const LLAMA_MODEL = process.env.LLAMA_MODEL || path.join(shared, 'models', 'llama2-tiny-hello.gguf');

/** True when both the binary and the model are there. */
export function llamaServerAvailable(): boolean {
  return existsSync(LLAMA_SERVER_BIN) && existsSync(LLAMA_MODEL);
}

export interface LlamaServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  process: ChildProcess;
  /** Everything it wrote to stdout and stderr. */
  log(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash), and wait for the exit. */
  kill(): Promise<void>;
}

/** A port nobody listens on right now (listen(0), then close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts llama-server and resolves once `/health` answers ok. */
export async function startLlamaServer(extraArgs: string[] = [], port?: number): Promise<LlamaServer> {
  if (!llamaServerAvailable()) {
    throw new Error(
      `llama-server or its model not found (LLAMA_SERVER_BIN=${LLAMA_SERVER_BIN}, LLAMA_MODEL=${LLAMA_MODEL}); ` +
        'set both variables to run the llama.cpp suite with your own build',
    );
  }
  const p = port ?? (await freePort());
  const args = ['-m', LLAMA_MODEL, '--host', '127.0.0.1', '--port', String(p), '-c', '512', '-t', '1', '-tb', '1', ...extraArgs];
  const child = spawn(LLAMA_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer) => {
    output += b.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  // However the test process ends, the server ends with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => {
    gone = true;
    process.off('exit', killOnExit);
  });
  const url = `http://127.0.0.1:${p}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (gone) throw new Error(`llama-server exited during start-up:\n${output.slice(-3000)}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok && ((await r.json()) as { status?: string }).status === 'ok') break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`llama-server did not become healthy within 30 s:\n${output.slice(-3000)}`);
    }
    await sleep(50);
  }
  const end = async (signal: NodeJS.Signals) => {
    if (!gone) child.kill(signal);
    // A server still holding connections may take its time over SIGTERM: never leave one behind.
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  return { url, port: p, process: child, log: () => output, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
