import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'status-503' | 'status-500' | 'reset';

/**
 * A real HTTP proxy in front of a local server that injects faults into the next requests: an error status or a
 * connection reset. Used to show that adapters retry what is transient, without mocking any SDK.
 */
export interface FlakyProxy {
  readonly url: string;
  /** The next `times` requests (optionally only those whose method and path match) get this fault. */
  fail(fault: Fault, times: number, match?: (method: string, path: string) => boolean): void;
  /** Requests seen, as "METHOD path". */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const upstream = new URL(target);
  const faults: Array<{ fault: Fault; match: (method: string, path: string) => boolean }> = [];
  const seen: string[] = [];
  const server = http.createServer((request, response) => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    seen.push(`${method} ${url}`);
    const index = faults.findIndex((entry) => entry.match(method, url));
    if (index >= 0) {
      const fault = faults.splice(index, 1)[0]?.fault;
      request.resume();
      if (fault === 'reset') {
        request.socket.destroy();
        return;
      }
      const status = fault === 'status-503' ? 503 : 500;
      response.writeHead(status, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0"?><Error><Code>${status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected</Message></Error>`,
      );
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method, path: url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    fail(fault, times, match = () => true) {
      for (let i = 0; i < times; i += 1) faults.push({ fault, match });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
