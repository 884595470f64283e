/** The parent side: fork a bench child, wait for its port, ask its stats, stop it. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ChildMessage, ChildStats, ParentMessage } from './child-ipc';

/** A running child server. */
export interface Child {
  pid: number;
  port: number;
  stats(): Promise<ChildStats>;
  /** Upstream only: time per streamed answer from now on. */
  pace(streamMs: number): Promise<void>;
  /** Stops the child and waits for it to exit. */
  stop(): Promise<void>;
}

/** Where the child entry points are and how to run them. */
export interface ChildRuntime {
  /** Directory holding upstream.* and proxies.*. */
  dir: string;
  /** true: run the .ts sources under tsx; false: run transpiled .js with plain node. */
  tsx: boolean;
  /** Module the proxy children load `aiProxy` from. */
  libEntry: string;
}

export interface SpawnOptions {
  /** Pin the child (all its threads) to this CPU with taskset. */
  cpu?: number;
  /** Write a CPU profile to this directory under this name. */
  cpuProf?: { dir: string; name: string };
}

/** Forks the child entry `name` (upstream or proxies) with one JSON argument; resolves once it listens. */
export function spawnChild(rt: ChildRuntime, name: 'upstream' | 'proxies', arg: unknown, opts: SpawnOptions = {}): Promise<Child> {
  const file = path.join(rt.dir, name + (rt.tsx ? '.ts' : '.js'));
  const nodeArgs = rt.tsx ? ['--import', 'tsx'] : [];
  if (opts.cpuProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProf.dir}`, `--cpu-prof-name=${opts.cpuProf.name}`);
  const env = { ...process.env };
  // The debug package must stay silent in the processes under test.
  delete env.DEBUG;
  const child: ChildProcess = fork(file, [JSON.stringify(arg)], {
    // With a CPU given, fork runs `taskset -c N node <nodeArgs> file arg`; taskset execs node in place,
    // so the IPC channel and the pid stay the same.
    ...(opts.cpu === undefined ? { execArgv: nodeArgs } : { execPath: 'taskset', execArgv: ['-c', String(opts.cpu), process.execPath, ...nodeArgs] }),
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });

  let nextId = 0;
  const waiting = new Map<number, (s: ChildStats) => void>();
  const acks = new Map<number, () => void>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise<Child>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench child ${file} exited early (code ${code})`)));
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'error') reject(new Error(`bench child ${file} failed:\n${msg.message}`));
      else if (msg.type === 'stats') {
        waiting.get(msg.id)?.(msg.stats);
        waiting.delete(msg.id);
      } else if (msg.type === 'ack') {
        acks.get(msg.id)?.();
        acks.delete(msg.id);
      } else if (msg.type === 'ready') {
        resolve({
          pid: child.pid ?? -1,
          port: msg.port,
          stats: () =>
            new Promise<ChildStats>((res) => {
              const id = nextId++;
              waiting.set(id, res);
              child.send({ type: 'stats', id } satisfies ParentMessage);
            }),
          pace: (streamMs) =>
            new Promise<void>((res) => {
              const id = nextId++;
              acks.set(id, res);
              child.send({ type: 'pace', id, streamMs } satisfies ParentMessage);
            }),
          stop: async () => {
            if (child.exitCode === null && child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(timer);
          },
        });
      }
    });
  });
}
