import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * - `status-500`, `status-503`: answered with that status; the server never sees the request.
 * - `reset`: the connection is cut before the request is forwarded; the server never sees it.
 * - `stall`: the request is held for the proxy's `stallMs`, then forwarded: a client with a shorter timeout has given
 *   up by then, yet the server applies it (late), as behind a slow load balancer.
 * - `reset-after-apply`: forwarded, the server's whole answer read, then the connection cut: the server applied it
 *   and the client never learns.
 */
export type Fault = 'status-503' | 'status-500' | 'reset' | 'stall' | 'reset-after-apply';

export type RequestMatch = (method: string, path: string, headers: IncomingHttpHeaders) => boolean;

/** One fault the proxy injected. */
export interface InjectedFault {
  readonly at: number;
  readonly fault: Fault;
  /** "METHOD path", and the SQS action (x-amz-target) when there is one. */
  readonly request: string;
}

/**
 * A real HTTP proxy in front of a local server that injects faults: into the next requests (`fail`), or into each
 * request with a probability (`chaos`). Used to show that adapters retry what is transient, without mocking any SDK,
 * and by the soak.
 */
export interface FlakyProxy {
  readonly url: string;
  /** The next `times` requests (optionally only those the match accepts) get this fault. */
  fail(fault: Fault, times: number, match?: RequestMatch): void;
  /**
   * From now on, each request the match accepts (and `fail` did not already claim) gets a fault with probability
   * `rate`, its kind picked evenly from `faults`; `random` returns [0, 1) (seed it to repeat a run). Rate 0 stops it.
   */
  chaos(rate: number, faults: readonly Fault[], random?: () => number, match?: RequestMatch): void;
  /** Requests seen, as "METHOD path". */
  readonly seen: string[];
  /** Faults injected, in order. */
  readonly injected: InjectedFault[];
  close(): Promise<void>;
}

export interface FlakyProxyOptions {
  /** How long a `stall` holds a request before forwarding it; default 5 s. */
  readonly stallMs?: number;
}

/** The request as sent on, its body read whole first (a stalled client may be gone by the time it is forwarded). */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    // A client that left mid-body: the server never gets a request it did not finish sending.
    request.on('aborted', () => resolve(undefined));
    request.on('error', () => resolve(undefined));
  });
}

export async function startFlakyProxy(target: string, options: FlakyProxyOptions = {}): Promise<FlakyProxy> {
  const upstream = new URL(target);
  const stallMs = options.stallMs ?? 5_000;
  const queued: Array<{ fault: Fault; match: RequestMatch }> = [];
  let chance: { rate: number; faults: readonly Fault[]; random: () => number; match: RequestMatch } = {
    rate: 0,
    faults: [],
    random: Math.random,
    match: () => true,
  };
  const seen: string[] = [];
  const injected: InjectedFault[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const forward = (request: IncomingMessage, onAnswer: (answer: IncomingMessage) => void, body?: Buffer) => {
    const sent = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      onAnswer,
    );
    sent.on('error', () => request.socket.destroy());
    if (body === undefined) request.pipe(sent);
    else sent.end(body);
  };
  const relay = (response: ServerResponse) => (answer: IncomingMessage) => {
    if (response.destroyed) {
      answer.resume();
      return;
    }
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  };

  const faultFor = (method: string, url: string, headers: IncomingHttpHeaders): Fault | undefined => {
    const index = queued.findIndex((entry) => entry.match(method, url, headers));
    if (index >= 0) return queued.splice(index, 1)[0]?.fault;
    if (
      chance.rate > 0 &&
      chance.faults.length > 0 &&
      chance.match(method, url, headers) &&
      chance.random() < chance.rate
    ) {
      return chance.faults[Math.floor(chance.random() * chance.faults.length)];
    }
    return undefined;
  };

  const server = http.createServer((request, response) => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    seen.push(`${method} ${url}`);
    const fault = faultFor(method, url, request.headers);
    if (fault === undefined) {
      forward(request, relay(response));
      return;
    }
    const action = request.headers['x-amz-target'];
    injected.push({
      at: Date.now(),
      fault,
      request: `${method} ${url}${typeof action === 'string' ? ` ${action}` : ''}`,
    });
    if (fault === 'reset') {
      request.resume();
      request.socket.destroy();
    } else if (fault === 'status-500' || fault === 'status-503') {
      request.resume();
      const status = fault === 'status-503' ? 503 : 500;
      response.writeHead(status, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0"?><Error><Code>${status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected</Message></Error>`,
      );
    } else {
      const body = readBody(request);
      const send = () =>
        void body.then((whole) => {
          if (whole === undefined) return;
          if (fault === 'stall') {
            forward(request, relay(response), whole);
            return;
          }
          forward(
            request,
            (answer) => {
              answer.resume();
              answer.on('end', () => request.socket.destroy());
            },
            whole,
          );
        });
      if (fault === 'stall') {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, stallMs);
        timers.add(timer);
      } else {
        send();
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    injected,
    fail(fault, times, match = () => true) {
      for (let i = 0; i < times; i += 1) queued.push({ fault, match });
    },
    chaos(rate, faults, random = Math.random, match = () => true) {
      chance = { rate, faults, random, match };
    },
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
