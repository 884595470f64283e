/**
 * A client that sends exact bytes over a TCP socket, for requests fetch and http.request refuse to
 * make (hop-by-hop headers, a `Trailer`, a body sent slowly). Reads one answer: status, headers and
 * a Content-Length or chunked body, or whatever came before the server closed.
 */
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (right after the answer, or instead of one). */
  closed: boolean;
}

export interface RawOptions {
  /** Bytes to send after `pauseMs` (the first write is `request`). */
  later?: string | Buffer;
  pauseMs?: number;
  /** Bytes sent one at a time, every `dripEveryMs` (default 50), after `request`. */
  drip?: Buffer;
  dripEveryMs?: number;
  timeoutMs?: number;
}

/** Sends `request` to `url`'s host and port and reads one answer. Rejects when none arrives within `timeoutMs` (5 s). */
export function rawRequest(url: string, request: string | Buffer, opts: RawOptions = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${opts.timeoutMs ?? 5000} ms`));
    }, opts.timeoutMs ?? 5000);
    const tryParse = (): RawAnswer | undefined => {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const head = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(head[0]!.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const rest = buf.subarray(end + 4);
      if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        if (rest.length < n) return undefined;
        return { status, headers, body: rest.subarray(0, n).toString('utf8'), closed };
      }
      if (headers['transfer-encoding'] === 'chunked') {
        if (!rest.includes('\r\n0\r\n\r\n') && !rest.subarray(0, 5).equals(Buffer.from('0\r\n\r\n')))
          return closed ? { status, headers, body: rest.toString('utf8'), closed } : undefined;
        let body = '';
        let at = 0;
        for (;;) {
          const nl = rest.indexOf('\r\n', at);
          const size = parseInt(rest.subarray(at, nl).toString('latin1'), 16);
          if (size === 0) break;
          body += rest.subarray(nl + 2, nl + 2 + size).toString('utf8');
          at = nl + 2 + size + 2;
        }
        return { status, headers, body, closed };
      }
      return closed ? { status, headers, body: rest.toString('utf8'), closed } : undefined;
    };
    const settle = () => {
      const answer = tryParse();
      if (answer) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answer);
      } else if (closed) {
        clearTimeout(timer);
        resolve({ status: 0, headers: {}, body: buf.toString('utf8'), closed });
      }
    };
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      settle();
    });
    let dripTimer: NodeJS.Timeout | undefined;
    if (opts.drip !== undefined) {
      let i = 0;
      dripTimer = setInterval(() => {
        if (socket.destroyed || i >= opts.drip!.length) return clearInterval(dripTimer);
        socket.write(opts.drip!.subarray(i, ++i));
      }, opts.dripEveryMs ?? 50);
    }
    socket.on('close', () => {
      clearInterval(dripTimer);
      closed = true;
      settle();
    });
    socket.on('error', () => undefined);
    socket.write(request);
    if (opts.later !== undefined) {
      setTimeout(() => {
        if (!socket.destroyed) socket.write(opts.later!);
      }, opts.pauseMs ?? 0).unref();
    }
  });
}

/** A POST with `body` and these extra header lines (each `Name: value`), Content-Length framed. */
export function rawPost(path: string, body: string | Buffer, headerLines: string[] = []): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const head = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${bytes.length}`, ...headerLines, '', ''].join(
    '\r\n',
  );
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}
