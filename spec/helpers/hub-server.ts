import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the Hub's Django API with every route the worker uses (contract §3): the same paths, methods,
 * trailing slashes, redirect, token scheme and response shapes, strict JSON (a NaN token is a 400, as in the API),
 * the error-code table of §8 on the breaking-error route. It records every request in order and can be told to
 * fail a route.
 */

export interface RecordedRequest {
  readonly method: string;
  /** Without the leading slash, as the contract writes routes: "submissions/change_submission_status/7". */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined when there was none; the raw text when it was not JSON. */
  readonly body: unknown;
  readonly status: number;
}

export interface HubServerOptions {
  readonly username?: string;
  readonly password?: string;
  readonly fileMetadata?: ReadonlyArray<Record<string, unknown>>;
  readonly systemMetadata?: ReadonlyArray<Record<string, unknown>>;
  readonly pythonVersions?: readonly string[];
}

export interface HubServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** "METHOD path" of every request, in order. */
  calls(): string[];
  /** The next `times` requests matching method and path get this status (and body). */
  fail(method: string, path: string | RegExp, status: number, times?: number, body?: string): void;
  /** Invalidates the current token, as when it expires: the next call gets a 401. */
  expireToken(): void;
  /** Each submission's statuses, in the order they were set. */
  readonly statuses: Map<number, string[]>;
  /** Bodies of the result PUTs by submission. */
  readonly results: Map<number, unknown>;
  close(): Promise<void>;
}

export const HUB_USERNAME = 'worker';
export const HUB_PASSWORD = 'not-a-real-password';

/** The codes the API's error-report route accepts (contract §8); anything else is a 400. */
const KNOWN_CODES = new Set([
  ...Array.from({ length: 13 }, (_, i) => `wr_${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `op_${i + 1}`),
  'sb_1',
  'wr_500',
  'op_500',
  'sb_500',
]);

interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

const json = (status: number, body: unknown): Reply => ({ status, body });

export async function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  const username = options.username ?? HUB_USERNAME;
  const password = options.password ?? HUB_PASSWORD;
  const files = new Map((options.fileMetadata ?? []).map((row) => [Number(row['file_id']), row]));
  const systems = options.systemMetadata ?? [];
  const versions = options.pythonVersions ?? ['3.9', '3.10', '3.11', '3.12'];
  const requests: RecordedRequest[] = [];
  const statuses = new Map<number, string[]>();
  const results = new Map<number, unknown>();
  const reports = new Map<number, { error_rate: number; file_errors: { errors: unknown[] } }>();
  const progress = new Map<number, { count: number; mean: number }>();
  const faults: Array<{ method: string; path: string | RegExp; status: number; body: string | undefined }> = [];
  let tokenNumber = 0;
  let token = '';
  let nextReportId = 1;

  function route(method: string, path: string, headers: IncomingHttpHeaders, body: unknown, bodyError: boolean): Reply {
    if (method === 'POST' && path === 'login') {
      const given = body as { username?: unknown; password?: unknown } | undefined;
      if (given?.username !== username || given?.password !== password) {
        return {
          status: 400,
          body: 'Unable to log in with provided credentials.',
          headers: { 'content-type': 'text/plain' },
        };
      }
      tokenNumber += 1;
      token = `token-${tokenNumber}-${Math.random().toString(36).slice(2)}`;
      return json(200, { token, username });
    }
    if (token === '' || headers['authorization'] !== `Token ${token}`) return json(401, { detail: 'Invalid token.' });
    if (bodyError) return json(400, { detail: 'JSON parse error' });

    let match: RegExpMatchArray | null;
    if (method === 'PUT' && (match = path.match(/^submissions\/change_submission_status\/(\d+)$/))) {
      const status = (body as { status?: unknown } | undefined)?.status;
      if (typeof status !== 'string') return json(400, { error: 'status is required' });
      const id = Number(match[1]);
      statuses.set(id, [...(statuses.get(id) ?? []), status]);
      return json(200, { success: `submission ${id} status changed to ${status}` });
    }
    if (method === 'GET' && (match = path.match(/^file_metadata\/filemetadata\/(\d+)\/$/))) {
      const row = files.get(Number(match[1]));
      return row ? json(200, row) : json(404, { detail: 'Not found.' });
    }
    if (method === 'GET' && path === 'versions/python') {
      return { status: 301, headers: { location: '/versions/python/' } };
    }
    if (method === 'GET' && path === 'versions/python/') return json(200, versions);
    if (method === 'GET' && path === 'system_metadata/systemmetadata/') return json(200, systems);
    if (method === 'POST' && path === 'error/error_report/new') {
      const row = body as { submission?: unknown; file_errors?: unknown } | undefined;
      if (typeof row?.submission !== 'number') return json(400, { submission: ['This field is required.'] });
      reports.set(row.submission, { error_rate: 0, file_errors: { errors: [] } });
      return json(201, { error_report_id: nextReportId++, ...row });
    }
    if (method === 'POST' && (match = path.match(/^submissions\/submission\/(\d+)\/progress_increment$/))) {
      const seconds = (body as { file_exec_time?: unknown } | undefined)?.file_exec_time;
      if (seconds !== null && typeof seconds !== 'number')
        return json(400, { error: 'file_exec_time must be a number or null' });
      const id = Number(match[1]);
      const state = progress.get(id) ?? { count: 0, mean: 0 };
      if (typeof seconds === 'number') state.mean = (state.mean * state.count + seconds) / (state.count + 1);
      state.count += 1;
      progress.set(id, state);
      return json(200, { progress: state.mean });
    }
    if (method === 'POST' && (match = path.match(/^error\/error_report\/(\d+)\/update_non_breaking$/))) {
      const report = reports.get(Number(match[1]));
      if (!report) return json(404, { error: 'no error report for this submission' });
      report.file_errors.errors.push(body);
      return json(200, report);
    }
    if (method === 'PUT' && (match = path.match(/^submissions\/update_submission_result\/(\d+)$/))) {
      const result = body as { mean_runtime?: unknown; function_parameters?: unknown; metrics?: unknown } | undefined;
      if (
        !result ||
        !('mean_runtime' in result) ||
        !Array.isArray(result.function_parameters) ||
        typeof result.metrics !== 'object'
      ) {
        return json(400, { error: 'mean_runtime, function_parameters and metrics are required' });
      }
      results.set(Number(match[1]), body);
      return json(200, { success: 'result updated' });
    }
    if (method === 'POST' && path === 'error/error_report') {
      const row = body as { submission?: unknown; error_code?: unknown } | undefined;
      if (typeof row?.submission !== 'number') return json(400, { submission: ['This field is required.'] });
      if (typeof row.error_code !== 'string' || !KNOWN_CODES.has(row.error_code))
        return json(400, { error: `unknown error code ${String(row.error_code)}` });
      return json(201, { error_report_id: nextReportId++, ...row });
    }
    return json(404, { detail: `no route ${method} ${path}` });
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const method = request.method ?? 'GET';
      const path = (request.url ?? '/').replace(/^\//, '').replace(/\?.*$/, '');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      let bodyError = false;
      if (raw !== '') {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
          bodyError = true;
        }
      }
      const faultIndex = faults.findIndex(
        (fault) =>
          fault.method === method && (typeof fault.path === 'string' ? fault.path === path : fault.path.test(path)),
      );
      let reply: Reply;
      if (faultIndex >= 0) {
        const [fault] = faults.splice(faultIndex, 1);
        reply = {
          status: fault?.status ?? 500,
          body: fault?.body ?? `injected ${fault?.status}`,
          headers: { 'content-type': 'text/plain' },
        };
      } else {
        reply = route(method, path, request.headers, body, bodyError);
      }
      requests.push({ method, path, headers: request.headers, body, status: reply.status });
      const text =
        reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    calls: () => requests.map((entry) => `${entry.method} ${entry.path}`),
    fail(method, path, status, times = 1, body) {
      for (let i = 0; i < times; i += 1) faults.push({ method, path, status, body });
    },
    expireToken() {
      token = `expired-${tokenNumber}`;
    },
    statuses,
    results,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
