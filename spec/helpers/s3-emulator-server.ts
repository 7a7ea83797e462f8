import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * A stand-in for the Hub's local-stack "s3" service (contract §2) over a folder: `<root>/<bucket>/<key>` is an
 * object. The three routes behave as the Flask emulator does: list walks the folder the prefix names (a missing
 * bucket folder is a 404, a missing prefix folder an empty list), get streams the file (404 if absent, 400 for a
 * folder), put writes the body, making folders. It records every request in order and can be told to fail some.
 */

export type EmulatorRoute = 'list_bucket' | 'get_object' | 'put_object';

export interface EmulatorRequest {
  readonly method: string;
  readonly route: string;
  readonly bucket: string;
  /** The key or prefix, decoded. */
  readonly key: string;
  /** The path as sent, still encoded. */
  readonly rawPath: string;
  readonly headers: IncomingHttpHeaders;
  /** Bytes of the request body. */
  readonly bodyBytes: number;
  readonly status: number;
}

/** `status`: reply with it. `cut`: a GET is answered 200 with half its body, then the connection is destroyed. */
export type EmulatorFault = { readonly kind: 'status'; readonly status: number } | { readonly kind: 'cut' };

export interface S3EmulatorServer {
  readonly url: string;
  readonly root: string;
  readonly requests: EmulatorRequest[];
  /** "METHOD route key" of every request, in order. */
  calls(): string[];
  /** The next `times` requests to `route` get this fault. */
  fail(route: EmulatorRoute, fault: EmulatorFault, times?: number): void;
  close(): Promise<void>;
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? filesUnder(path.join(folder, entry.name))
        : Promise.resolve(entry.isFile() ? [path.join(folder, entry.name)] : []),
    ),
  );
  return nested.flat();
}

function reply(response: ServerResponse, status: number, body: string, contentType = 'text/plain'): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

export async function startS3EmulatorServer(root: string): Promise<S3EmulatorServer> {
  const requests: EmulatorRequest[] = [];
  const faults: Array<{ route: EmulatorRoute; fault: EmulatorFault }> = [];

  async function handle(
    request: http.IncomingMessage,
    response: ServerResponse,
    record: (entry: Omit<EmulatorRequest, 'method' | 'rawPath' | 'headers'>) => void,
  ): Promise<void> {
    const rawPath = (request.url ?? '/').replace(/\?.*$/, '');
    const [route = '', bucket = '', ...rest] = rawPath.replace(/^\//, '').split('/').map(decodeURIComponent);
    const key = rest.join('/');
    let bodyBytes = 0;
    const done = (status: number) => record({ route, bucket, key, bodyBytes, status });

    if (rest.some((segment) => segment === '..') || bucket === '' || bucket === '..') {
      done(400);
      return reply(response, 400, 'bad path');
    }
    const bucketDir = path.join(root, bucket);
    const file = path.join(bucketDir, key);

    const faultIndex = faults.findIndex((entry) => entry.route === route);
    if (faultIndex >= 0) {
      const fault = faults.splice(faultIndex, 1)[0]?.fault ?? { kind: 'status', status: 500 };
      request.resume();
      if (fault.kind === 'status') {
        done(fault.status);
        return reply(response, fault.status, `injected ${fault.status}`);
      }
      const { size } = await stat(file);
      done(200);
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      const half = createReadStream(file, { end: Math.max(0, Math.floor(size / 2) - 1) });
      half.on('data', (chunk) => response.write(chunk));
      half.on('end', () => setTimeout(() => response.destroy(), 20));
      return;
    }

    if (request.method === 'GET' && route === 'list_bucket') {
      const bucketStat = await stat(bucketDir).catch(() => undefined);
      if (!bucketStat?.isDirectory()) {
        done(404);
        return reply(response, 404, 'Bucket not found');
      }
      const keys = (await filesUnder(file)).map((full) => path.relative(bucketDir, full).split(path.sep).join('/'));
      done(200);
      return reply(response, 200, JSON.stringify({ Contents: keys.map((Key) => ({ Key })) }), 'application/json');
    }
    if (request.method === 'GET' && route === 'get_object') {
      const fileStat = await stat(file).catch(() => undefined);
      if (!fileStat) {
        done(404);
        return reply(response, 404, 'Object not found');
      }
      if (fileStat.isDirectory()) {
        done(400);
        return reply(response, 400, 'Requested path is a directory, not a file');
      }
      done(200);
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': fileStat.size });
      await pipeline(createReadStream(file), response);
      return;
    }
    if (request.method === 'PUT' && route === 'put_object' && key !== '') {
      await mkdir(path.dirname(file), { recursive: true });
      const target = createWriteStream(file);
      await pipeline(request, target);
      bodyBytes = target.bytesWritten;
      done(200);
      return reply(response, 200, 'Object uploaded successfully');
    }
    request.resume();
    done(404);
    return reply(response, 404, `no route ${request.method} ${rawPath}`);
  }

  const server = http.createServer((request, response) => {
    const method = request.method ?? 'GET';
    const rawPath = request.url ?? '/';
    const record = (entry: Omit<EmulatorRequest, 'method' | 'rawPath' | 'headers'>) =>
      requests.push({ method, rawPath, headers: request.headers, ...entry });
    handle(request, response, record).catch((error: unknown) => {
      if (!response.headersSent) reply(response, 500, String(error));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    root,
    requests,
    calls: () => requests.map((entry) => `${entry.method} ${entry.route} ${entry.key}`),
    fail(route, fault, times = 1) {
      for (let i = 0; i < times; i += 1) faults.push({ route, fault });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
