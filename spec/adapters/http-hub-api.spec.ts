import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { HttpHubApi } from '../../src/adapters/http-hub-api.js';
import { HubApiError } from '../../src/adapters/hub-session.js';
import { credentialsFrom, readSecretCredentials } from '../../src/adapters/hub-credentials.js';
import { loadConfig } from '../../src/config.js';
import { WorkerError } from '../../src/domain/errors.js';
import type { ResultsObject } from '../../src/domain/results.js';
import { NoErrorReportError } from '../../src/ports/hub-api.js';
import { HUB_PASSWORD, HUB_USERNAME, type HubServer, startHubServer } from '../helpers/hub-server.js';
import { DUMMY_CREDENTIALS, requireServices, uniqueName } from '../helpers/services.js';
import { startStallingServer } from '../helpers/stalling-server.js';

const FAST_RETRY = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
const FILES = [
  {
    file_id: 5,
    system_id: 1,
    file_name: 'a.csv',
    timezone: 'Etc/GMT+7',
    data_sampling_frequency: 15,
    issue: 'time shift',
    subissue: '',
    file_hash: 'h5',
    include_on_leaderboard: true,
  },
  {
    file_id: 6,
    system_id: 2,
    file_name: 'b.csv',
    timezone: 'Etc/GMT+7',
    data_sampling_frequency: 5,
    issue: 'none',
    subissue: '',
    file_hash: 'h6',
    include_on_leaderboard: false,
  },
];
const SYSTEMS = [
  {
    system_id: 1,
    name: 's1',
    azimuth: 180,
    tilt: 20,
    elevation: 100,
    latitude: 39.7,
    longitude: -105.2,
    tracking: false,
    dc_capacity: 5,
  },
];

let hub: HubServer;

test.before.each(async () => {
  hub = await startHubServer({ fileMetadata: FILES, systemMetadata: SYSTEMS });
});
test.after.each(async () => {
  await hub.close();
});

function logSink(): { log: pino.Logger; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { log: pino({ level: 'trace' }, stream), text: () => text };
}

function api(overrides: Partial<ConstructorParameters<typeof HttpHubApi>[0]> = {}): HttpHubApi {
  return new HttpHubApi({
    baseUrl: `${hub.url}/`,
    credentials: async () => ({ username: HUB_USERNAME, password: HUB_PASSWORD }),
    requestTimeoutMs: 5000,
    retry: FAST_RETRY,
    ...overrides,
  });
}

const RESULTS: ResultsObject = {
  module: 'submission',
  number_of_files: 2,
  mean_runtime: 0.5,
  median_runtime: 0.5,
  function_parameters: ['time_series', 'latitude'],
  data_requirements: ['time_series', 'latitude'],
  metrics: { mean_mean_absolute_error_time_series: 0.25, median_mean_absolute_error_time_series: NaN },
};

test('every route of contract §3: exact paths, methods, headers and bodies, one lazy login', async () => {
  const client = api();
  assert.equal(hub.calls(), [], 'no request before the first call');
  await client.setStatus(7, 'running');
  assert.equal(await client.fileMetadataMany([5, 6]), FILES);
  await client.createBlankErrorReport(7);
  assert.equal(await client.pythonVersions(), ['3.9', '3.10', '3.11', '3.12']);
  assert.equal(await client.systemMetadata(), SYSTEMS);
  await client.progressIncrement(7, 1.25);
  await client.reportFileError(7, {
    error_code: 'sb_500',
    error_type: 'internal submission error',
    error_message: 'ValueError: boom',
    file_name: 'b.csv',
  });
  await client.progressIncrement(7, 2.5);
  await client.setStatus(7, 'finished');
  await client.updateResult(7, RESULTS);
  await client.setStatus(8, 'failed');
  await client.reportBreakingError(8, {
    error_code: 'op_7',
    error_type: 'failure cutoff',
    error_message: 'the first 3 files failed',
    error_rate: 100,
  });

  const calls = hub.calls();
  // The two metadata GETs run concurrently: their order is free, everything else is fixed.
  assert.equal(calls.slice(2, 4).sort(), ['GET file_metadata/filemetadata/5/', 'GET file_metadata/filemetadata/6/']);
  assert.equal(
    [...calls.slice(0, 2), ...calls.slice(4)],
    [
      'POST login',
      'PUT submissions/change_submission_status/7',
      'POST error/error_report/new',
      'GET versions/python',
      'GET versions/python/',
      'GET system_metadata/systemmetadata/',
      'POST submissions/submission/7/progress_increment',
      'POST error/error_report/7/update_non_breaking',
      'POST submissions/submission/7/progress_increment',
      'PUT submissions/change_submission_status/7',
      'PUT submissions/update_submission_result/7',
      'PUT submissions/change_submission_status/8',
      'POST error/error_report',
    ],
  );
  const bodies = hub.requests.filter((entry) => entry.body !== undefined).map((entry) => [entry.path, entry.body]);
  assert.equal(bodies, [
    ['login', { username: HUB_USERNAME, password: HUB_PASSWORD }],
    ['submissions/change_submission_status/7', { status: 'running' }],
    [
      'error/error_report/new',
      { submission: 7, error_code: '', error_type: '', error_message: '', error_rate: 0, file_errors: { errors: [] } },
    ],
    ['submissions/submission/7/progress_increment', { file_exec_time: 1.25 }],
    [
      'error/error_report/7/update_non_breaking',
      {
        error_code: 'sb_500',
        error_type: 'internal submission error',
        error_message: 'ValueError: boom',
        file_name: 'b.csv',
      },
    ],
    ['submissions/submission/7/progress_increment', { file_exec_time: 2.5 }],
    ['submissions/change_submission_status/7', { status: 'finished' }],
    [
      'submissions/update_submission_result/7',
      {
        ...RESULTS,
        metrics: { mean_mean_absolute_error_time_series: 0.25, median_mean_absolute_error_time_series: null },
      },
    ],
    ['submissions/change_submission_status/8', { status: 'failed' }],
    [
      'error/error_report',
      {
        submission: 8,
        error_code: 'op_7',
        error_type: 'failure cutoff',
        error_message: 'the first 3 files failed',
        error_rate: 100,
      },
    ],
  ]);
  const token = (hub.requests[1]?.headers['authorization'] ?? '').replace(/^Token /, '');
  for (const entry of hub.requests) {
    assert.is(entry.headers['content-type'], 'application/json', entry.path);
    if (entry.path !== 'login') assert.is(entry.headers['authorization'], `Token ${token}`, entry.path);
    if (entry.method === 'GET') assert.is(entry.body, undefined, 'no body on a GET');
  }
  assert.is(hub.requests[0]?.headers['authorization'], undefined, 'login carries no token');
  assert.equal(hub.statuses.get(7), ['running', 'finished']);
});

test('a breaking error without a rate sends no error_rate', async () => {
  const client = api();
  await client.reportBreakingError(9, { error_code: 'wr_6', error_type: 'config', error_message: 'no config.json' });
  assert.equal(hub.requests[1]?.body, {
    submission: 9,
    error_code: 'wr_6',
    error_type: 'config',
    error_message: 'no config.json',
  });
});

test('5xx answers are retried with backoff, then succeed', async () => {
  const client = api();
  hub.fail('PUT', 'submissions/change_submission_status/7', 500, 2);
  await client.setStatus(7, 'running');
  assert.equal(hub.calls(), ['POST login', ...Array<string>(3).fill('PUT submissions/change_submission_status/7')]);
  assert.equal(hub.statuses.get(7), ['running']);
});

test('a 5xx that lasts: the route code, the status and the body, after every try', async () => {
  const client = api();
  hub.fail('PUT', /^submissions\/update_submission_result\//, 503, 5, 'database is down');
  try {
    await client.updateResult(7, RESULTS);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, HubApiError);
    assert.is((error as HubApiError).code, 'wr_4');
    assert.is((error as HubApiError).status, 503);
    assert.is((error as Error).message, 'PUT submissions/update_submission_result/7 answered 503: database is down');
  }
  assert.is(hub.calls().filter((call) => call.startsWith('PUT')).length, FAST_RETRY.attempts);
});

test('4xx is not retried: a clear error with status and response body', async () => {
  const client = api();
  try {
    await client.reportBreakingError(7, { error_code: 'xx_1', error_type: 't', error_message: 'm' });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, HubApiError);
    assert.is((error as HubApiError).code, 'wr_12');
    assert.is((error as Error).message, 'POST error/error_report answered 400: {"error":"unknown error code xx_1"}');
  }
  assert.equal(hub.calls(), ['POST login', 'POST error/error_report']);
  try {
    await client.fileMetadata(404);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, WorkerError);
    assert.is((error as WorkerError).code, 'wr_7');
    assert.match((error as Error).message, 'file 404');
  }
});

test('an expired token (401) logs in again, once, and the call goes through', async () => {
  const client = api();
  await client.setStatus(7, 'running');
  hub.expireToken();
  await client.setStatus(7, 'finished');
  assert.equal(hub.calls(), [
    'POST login',
    'PUT submissions/change_submission_status/7',
    'PUT submissions/change_submission_status/7',
    'POST login',
    'PUT submissions/change_submission_status/7',
  ]);
  assert.equal(hub.statuses.get(7), ['running', 'finished']);
  hub.fail('GET', 'system_metadata/systemmetadata/', 401, 2);
  try {
    await client.systemMetadata();
    assert.unreachable();
  } catch (error) {
    assert.is((error as HubApiError).status, 401);
    assert.is((error as HubApiError).code, 'op_3');
  }
  assert.is(
    hub.calls().filter((call) => call === 'POST login').length,
    3,
    'one more login for the second 401, not a loop',
  );
});

test('wrong credentials: the call fails with its code and the API text, and nothing secret in the message or log', async () => {
  const { log, text } = logSink();
  const client = api({ credentials: async () => ({ username: HUB_USERNAME, password: 'wrong-password-123' }), log });
  try {
    await client.setStatus(7, 'running');
    assert.unreachable();
  } catch (error) {
    assert.is((error as WorkerError).code, 'wr_5');
    assert.is((error as Error).message, 'POST login answered 400: Unable to log in with provided credentials.');
    assert.not.match((error as Error).message, 'wrong-password-123');
  }
  assert.not.match(text(), 'wrong-password-123');
});

test('retries are logged without the token or the password', async () => {
  const { log, text } = logSink();
  const client = api({ log });
  hub.fail('POST', 'login', 502, 1);
  hub.fail('GET', 'versions/python/', 500, 1);
  await client.pythonVersions();
  const token = (hub.requests.at(-1)?.headers['authorization'] ?? '').replace(/^Token /, '');
  assert.ok(token.length > 5);
  assert.match(text(), 'Hub API request failed, retrying');
  assert.not.match(text(), token);
  assert.not.match(text(), HUB_PASSWORD);
});

test('a request with no answer times out and is retried, then fails with the route code', async () => {
  const sockets = new Set<import('node:net').Socket>();
  let seen = 0;
  const silent = http.createServer((request) => {
    seen += 1;
    request.resume();
  });
  silent.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  try {
    const client = api({
      baseUrl: url,
      requestTimeoutMs: 200,
      credentials: async () => ({ username: 'u', password: 'p' }),
    });
    const started = Date.now();
    try {
      await client.setStatus(7, 'running');
      assert.unreachable();
    } catch (error) {
      assert.is((error as WorkerError).code, 'wr_5');
      assert.is((error as Error).message, 'POST login failed: no answer within 0.2 s');
      assert.ok((error as WorkerError).retryable, 'a Hub that does not answer is worth another try');
    }
    assert.is(seen, FAST_RETRY.attempts);
    assert.ok(Date.now() - started < 3000);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('an answer whose body stalls after the headers times out within the same limit, and is retried', async () => {
  const server = await startStallingServer({
    kind: 'headers-then-stall',
    headers: { 'Content-Type': 'application/json' },
    bodyBytes: 200,
    sentBytes: 10,
  });
  try {
    const client = api({
      baseUrl: server.url,
      requestTimeoutMs: 200,
      credentials: async () => ({ username: 'u', password: 'p' }),
    });
    const started = Date.now();
    await client.systemMetadata().then(
      () => assert.unreachable(),
      (error: unknown) => {
        assert.is((error as WorkerError).code, 'op_3');
        assert.is((error as Error).message, 'POST login failed: no answer within 0.2 s');
        assert.ok((error as WorkerError).retryable);
      },
    );
    // Login is the one POST sent again: the Hub cannot count it twice.
    assert.is(server.requests(), FAST_RETRY.attempts);
    assert.ok(Date.now() - started < 3000);
  } finally {
    await server.close();
  }
});

test('a POST with no answer is not sent again (the Hub may have counted it); a PUT is', async () => {
  const sockets = new Set<import('node:net').Socket>();
  const seen: string[] = [];
  // Answers the login, then never answers anything else.
  const server = http.createServer((request, response) => {
    seen.push(`${request.method ?? ''} ${request.url ?? ''}`);
    request.resume();
    if (request.url === '/login')
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: 't', username: 'u' }));
  });
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const client = api({
      baseUrl: url,
      requestTimeoutMs: 200,
      credentials: async () => ({ username: 'u', password: 'p' }),
    });
    await client.progressIncrement(7, 1.5).then(
      () => assert.unreachable(),
      (error: unknown) => assert.match((error as Error).message, 'no answer within 0.2 s'),
    );
    assert.equal(seen, ['POST /login', 'POST /submissions/submission/7/progress_increment']);
    await client.setStatus(7, 'running').then(
      () => assert.unreachable(),
      (error: unknown) => assert.is((error as WorkerError).code, 'wr_5'),
    );
    assert.is(
      seen.filter((call) => call === 'PUT /submissions/change_submission_status/7').length,
      FAST_RETRY.attempts,
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('credentials: from the environment when both are set, else from the Secrets Manager secret', async () => {
  const fromEnv = credentialsFrom(loadConfig({ worker_username: 'u1', worker_password: 'p1' }).hub);
  assert.equal(await fromEnv(), { username: 'u1', password: 'p1' });
  const services = await requireServices();
  // moto serves Secrets Manager on the same endpoint as S3.
  const secrets = new SecretsManagerClient({
    region: 'us-west-2',
    endpoint: services.s3Endpoint,
    credentials: DUMMY_CREDENTIALS,
  });
  const name = uniqueName('valhub-worker-credentials');
  await secrets.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({ username: 'from-secret', password: 's3cret' }),
    }),
  );
  assert.equal(await readSecretCredentials(name, 'us-west-2', secrets), {
    username: 'from-secret',
    password: 's3cret',
  });
  const bad = uniqueName('bad-secret');
  await secrets.send(new CreateSecretCommand({ Name: bad, SecretString: '{"user":"x"}' }));
  try {
    await readSecretCredentials(bad, 'us-west-2', secrets);
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, 'lacks "username" and "password"');
  }
  const client = api({ credentials: () => readSecretCredentials(name, 'us-west-2', secrets) });
  try {
    await client.setStatus(1, 'running');
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, 'POST login answered 400');
  }
  assert.equal(hub.requests[0]?.body, { username: 'from-secret', password: 's3cret' });
});

test("a file error for a submission without an error report is the Hub's proof that it has none", async () => {
  const error = { error_code: 'sb_500', error_type: 'SubmissionException', error_message: 'boom', file_name: 'a.csv' };
  const refused = await api()
    .reportFileError(9, error)
    .then(
      () => assert.unreachable('accepted'),
      (rejection: unknown) => rejection,
    );
  assert.instance(refused, NoErrorReportError);
  await api().createBlankErrorReport(9);
  await api().reportFileError(9, error);
});

test.run();
