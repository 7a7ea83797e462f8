import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * What the server does with each connection, as a hung service or load balancer does:
 * - `silent`: takes the connection, reads whatever comes, never answers a byte;
 * - `headers-then-stall`: once a request's head arrived, answers its status line and headers (a body of
 *   `bodyBytes`), sends the first `sentBytes` of the body, then nothing more;
 * - `trickle`: the same answer, but the whole body, `chunkBytes` every `everyMs`: slow, and never silent for long.
 */
export type Stall =
  | { readonly kind: 'silent' }
  | {
      readonly kind: 'headers-then-stall';
      readonly headers: Readonly<Record<string, string>>;
      readonly bodyBytes: number;
      readonly sentBytes: number;
    }
  | {
      readonly kind: 'trickle';
      readonly headers: Readonly<Record<string, string>>;
      readonly body: Buffer;
      readonly chunkBytes: number;
      readonly everyMs: number;
    };

/** An answer the server gives in full instead of stalling, closing the connection after it. */
export interface FullAnswer {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface StallingServerOptions {
  /** Requests to answer in full (the head as received, the server's URL): a lookup before the stalled call. */
  readonly answered?: (head: string, url: string) => FullAnswer | undefined;
}

export interface StallingServer {
  readonly url: string;
  /** Connections accepted: a client that gives up on a stalled request opens a new one for its next try. */
  readonly connections: () => number;
  /** Request heads received. */
  readonly requests: () => number;
  close(): Promise<void>;
}

const HEAD_END = Buffer.from('\r\n\r\n');

function head(headers: Readonly<Record<string, string>>, bodyBytes: number): string {
  const lines = Object.entries({ ...headers, 'Content-Length': String(bodyBytes) }).map(([k, v]) => `${k}: ${v}`);
  return `HTTP/1.1 200 OK\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** A plain TCP server on 127.0.0.1 (no HTTP server whose own time limits could answer for it). */
export async function startStallingServer(stall: Stall, options: StallingServerOptions = {}): Promise<StallingServer> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;
  let requests = 0;

  const answer = (socket: net.Socket) => {
    if (stall.kind === 'headers-then-stall') {
      socket.write(head(stall.headers, stall.bodyBytes));
      socket.write(Buffer.alloc(stall.sentBytes, 'a'));
    } else if (stall.kind === 'trickle') {
      socket.write(head(stall.headers, stall.body.length));
      let sent = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= stall.body.length) {
          clearInterval(timer);
          timers.delete(timer);
          return;
        }
        socket.write(stall.body.subarray(sent, sent + stall.chunkBytes));
        sent += stall.chunkBytes;
      }, stall.everyMs);
      timers.add(timer);
    }
  };

  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      // One answer per connection: what comes after the first head (a body, a pipelined request) is only read.
      if (answered) return;
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf(HEAD_END);
      if (end < 0) return;
      requests += 1;
      answered = true;
      const full = options.answered?.(received.subarray(0, end).toString('latin1'), url);
      if (full === undefined) answer(socket);
      else socket.end(head({ ...full.headers, Connection: 'close' }, Buffer.byteLength(full.body)) + full.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    connections: () => connections,
    requests: () => requests,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The operation's failure, and how long it took to come; an operation that succeeds is an error here. */
export async function failureOf(operation: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await operation();
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('the operation succeeded');
}
