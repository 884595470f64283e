/**
 * A bare upstream whose answer each test writes by hand, byte for byte: for hostile behaviours the
 * well-mannered fakes do not have (endless events, dripping bytes, data after the final event,
 * secrets echoed back). It counts open connections, so a test can see the proxy close them.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

export type ScriptedHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface ScriptedUpstream {
  url: string;
  /** The handler for the next requests. */
  handle(handler: ScriptedHandler): void;
  /** Sockets currently open. */
  openSockets(): number;
  close(): Promise<void>;
}

export async function startScripted(): Promise<ScriptedUpstream> {
  let handler: ScriptedHandler = (_req, res) => res.writeHead(500).end();
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    handle(h) {
      handler = h;
    },
    openSockets: () => sockets.size,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `make(i)` again and again (respecting backpressure) until `max` bytes or the socket closes; resolves with the bytes written. */
export function writeForever(res: ServerResponse, make: (i: number) => string, max: number): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    let i = 0;
    let done = false;
    const stop = () => {
      if (done) return;
      done = true;
      resolve(written);
    };
    res.on('close', stop);
    const pump = () => {
      while (!done && written < max && !res.destroyed) {
        const text = make(i++);
        written += Buffer.byteLength(text);
        if (!res.write(text)) {
          res.once('drain', pump);
          return;
        }
      }
      if (written >= max) stop();
    };
    pump();
  });
}
