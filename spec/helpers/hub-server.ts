import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the Hub's Django API with every route the worker uses (contract §3): the same paths, methods,
 * trailing slashes, redirect, token scheme and response shapes, strict JSON (a NaN token is a 400, as in the API),
 * the error-code table of §8 on the breaking-error route, and what the API does with each call beyond its routes
 * (contract §11): a null file_exec_time is a 500, a breaking report's message is replaced by the code's text, file
 * errors go to the submission's first report. It records every request in order, can be told to fail a route, and
 * says what the Hub's front end would show of a submission.
 */

export interface RecordedRequest {
  readonly method: string;
  /** Without the leading slash, as the contract writes routes: "submissions/change_submission_status/7". */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined when there was none; the raw text when it was not JSON. */
  readonly body: unknown;
  readonly status: number;
  /** When it was answered (Date.now()). */
  readonly at: number;
}

export interface HubServerOptions {
  readonly username?: string;
  readonly password?: string;
  readonly fileMetadata?: ReadonlyArray<Record<string, unknown>>;
  readonly systemMetadata?: ReadonlyArray<Record<string, unknown>>;
  readonly pythonVersions?: readonly string[];
  /**
   * The bucket the submission_results route lists: its keys under a prefix, in the store's listing order (S3:
   * lexicographic), and the URL a key is served at. Without it the route answers as for an empty bucket.
   */
  readonly resultsBucket?: { list(prefix: string): Promise<string[]>; url(key: string): string };
}

/** A row of the API's error reports, as stored. */
export interface ErrorReportRow {
  readonly error_report_id: number;
  readonly submission: number;
  readonly error_code: string;
  readonly error_type: string;
  readonly error_message: string;
  error_rate: number;
  readonly file_errors: { readonly errors: unknown[] };
}

/** What the Hub's front end shows of a submission. */
export interface FrontEndView {
  /** The submission's first error report row (the page shows `errors[0]`); undefined when it has none. */
  readonly errorReport: ErrorReportRow | undefined;
  /** Files counted by progress_increment. */
  readonly filesDone: number;
  /** The private report the page opens: `marimo_url[0]` of the submission_results route; undefined when it is a 404. */
  readonly privateReport: string | undefined;
  /** Every `.html` the route lists (`marimo_url`). */
  readonly reports: readonly string[];
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
  /** Each submission's error report rows, in the order the API made them. */
  readonly errorReports: Map<number, ErrorReportRow[]>;
  /** Records whose submission it is, as the API's upload does: the submission_results route lists the owner's folder. */
  addSubmission(submissionId: number, userId: string): void;
  frontEnd(submissionId: number): Promise<FrontEndView>;
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

/**
 * The API's errorcodes.json: a breaking report is stored with the text of its code in place of the worker's message.
 * (op_9 has no text in the copy this follows: the API stores it with an empty one.)
 */
const ERROR_CODE_TEXTS: Readonly<Record<string, string>> = {
  op_1: 'Submission file is not a valid zipped file',
  op_2: 'Error installing Python submission dependencies',
  op_3: 'Failed to get system metadata information',
  op_4: 'No system metadata returned from API',
  op_5: 'Configuration file not found in current evaluation directory',
  op_6: 'Required function name not found within submission python file',
  op_7: 'Failure cutoff met for submission evaluation and execution has been terminated',
  op_8: 'Submission result length does not match ground truth length',
  op_500: 'Internal server error',
  wr_1: 'Error uploading file to s3',
  wr_2: 'Error downloading file from s3',
  wr_3: 'No files found in s3 bucket for analysis',
  wr_4: 'Error updating submission result to API',
  wr_5: 'Error updating submission status to API',
  wr_6: 'Required evaluation files not found in s3 bucket',
  wr_7: 'File metadata for file ID not found in API',
  wr_8: 'No file metadata found in API for analysis ID',
  wr_9: 'Not all ground truth data files found in s3 bucket for analysis',
  wr_10: 'Not all analytical data files found in s3 bucket for analysis',
  wr_11: "Runner module does not have a 'run' function",
  wr_12: 'Error posting Error Report to API',
  wr_13: 'API did not return a valid response',
  wr_500: 'Internal server error',
  sb_1: 'Submission function exceeded maximum execution time',
  sb_500: 'Internal server error',
};

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
  const reports = new Map<number, ErrorReportRow[]>();
  const owners = new Map<number, string>();
  const progress = new Map<number, { count: number; mean: number }>();
  const faults: Array<{ method: string; path: string | RegExp; status: number; body: string | undefined }> = [];
  let tokenNumber = 0;
  let token = '';
  let expired = false;
  let nextReportId = 1;

  function addReport(submission: number, fields: Partial<ErrorReportRow>): ErrorReportRow {
    const row: ErrorReportRow = {
      error_code: '',
      error_type: '',
      error_message: '',
      error_rate: 0,
      ...fields,
      file_errors: { errors: [...(fields.file_errors?.errors ?? [])] },
      error_report_id: nextReportId++,
      submission,
    };
    reports.set(submission, [...(reports.get(submission) ?? []), row]);
    return row;
  }

  /** The API's get_submission_results: every `.html` key under the submission's results/, in listing order. */
  async function submissionResults(submissionId: number): Promise<Reply> {
    const owner = owners.get(submissionId);
    if (owner === undefined) return json(406, { error: 'submission does not exist' });
    const prefix = `submission_files/submission_user_${owner}/submission_${submissionId}/results/`;
    const keys = (await options.resultsBucket?.list(prefix)) ?? [];
    if (keys.length === 0) return json(404, { error: 'No files found in the results directory' });
    const html = keys.filter((key) => key.toLowerCase().endsWith('.html'));
    if (html.length === 0) return json(404, { error: 'No .html files found in the results directory' });
    return json(200, { marimo_url: html.map((key) => options.resultsBucket?.url(key) ?? key) });
  }

  function route(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: unknown,
    bodyError: boolean,
  ): Reply | Promise<Reply> {
    if (method === 'POST' && path === 'login') {
      const given = body as { username?: unknown; password?: unknown } | undefined;
      if (given?.username !== username || given?.password !== password) {
        return {
          status: 400,
          body: 'Unable to log in with provided credentials.',
          headers: { 'content-type': 'text/plain' },
        };
      }
      // As the API's Token.objects.get_or_create: every login gets the user's one token (several workers share it),
      // a new one only once it was invalidated.
      if (token === '' || expired) {
        tokenNumber += 1;
        token = `token-${tokenNumber}-${Math.random().toString(36).slice(2)}`;
        expired = false;
      }
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
    if (method === 'GET' && (match = path.match(/^submissions\/submission_results\/(\d+)$/)))
      return submissionResults(Number(match[1]));
    if (method === 'GET' && path === 'versions/python') {
      return { status: 301, headers: { location: '/versions/python/' } };
    }
    if (method === 'GET' && path === 'versions/python/') return json(200, versions);
    if (method === 'GET' && path === 'system_metadata/systemmetadata/') return json(200, systems);
    if (method === 'POST' && path === 'error/error_report/new') {
      const row = body as { submission?: unknown; file_errors?: unknown } | undefined;
      if (typeof row?.submission !== 'number') return json(400, { submission: ['This field is required.'] });
      return json(201, addReport(row.submission, body as Partial<ErrorReportRow>));
    }
    if (method === 'POST' && (match = path.match(/^submissions\/submission\/(\d+)\/progress_increment$/))) {
      // The API does float(file_exec_time): null or a missing field raises, and Django answers 500 (contract §11).
      const seconds = (body as { file_exec_time?: unknown } | undefined)?.file_exec_time;
      if (typeof seconds !== 'number')
        return {
          status: 500,
          body: `TypeError: float() argument must be a string or a real number, not '${seconds === null ? 'NoneType' : typeof seconds}'`,
          headers: { 'content-type': 'text/html' },
        };
      const id = Number(match[1]);
      const state = progress.get(id) ?? { count: 0, mean: 0 };
      state.mean = (state.mean * state.count + seconds) / (state.count + 1);
      state.count += 1;
      progress.set(id, state);
      return json(200, { progress: state.mean });
    }
    if (method === 'POST' && (match = path.match(/^error\/error_report\/(\d+)\/update_non_breaking$/))) {
      // Appended to the submission's first report, whatever reports came after it; the code is not checked.
      const [report] = reports.get(Number(match[1])) ?? [];
      if (!report) return json(404, { error: 'no error report for this submission' });
      report.file_errors.errors.push(body);
      if (files.size > 0) report.error_rate = report.file_errors.errors.length / files.size;
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
      // A new row, its message the code's text: the worker's own reason is not stored.
      return json(
        201,
        addReport(row.submission, {
          ...(body as Partial<ErrorReportRow>),
          error_message: ERROR_CODE_TEXTS[row.error_code] ?? '',
        }),
      );
    }
    return json(404, { detail: `no route ${method} ${path}` });
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
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
        reply = await route(method, path, request.headers, body, bodyError);
      }
      requests.push({ method, path, headers: request.headers, body, status: reply.status, at: Date.now() });
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
      expired = true;
    },
    statuses,
    results,
    errorReports: reports,
    addSubmission(submissionId, userId) {
      owners.set(submissionId, userId);
    },
    async frontEnd(submissionId) {
      const listed = await submissionResults(submissionId);
      const reportUrls = listed.status === 200 ? (listed.body as { marimo_url: string[] }).marimo_url : [];
      return {
        errorReport: reports.get(submissionId)?.[0],
        filesDone: progress.get(submissionId)?.count ?? 0,
        privateReport: reportUrls[0],
        reports: reportUrls,
      };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
