import { pino } from 'pino';
import { lastValueFrom, NEVER } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HubApiError } from '../../src/adapters/http-hub-api.js';
import { asWorkerError, errorTypeOf, WorkerError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import type { JobEvent } from '../../src/pipeline/events.js';
import { handleMessage, jobTimeBudget, type MessageDeps, outcomeOf, receiptRefusal } from '../../src/pipeline/handle-message.js';
import type { BreakingError, HubApi, SubmissionStatus } from '../../src/ports/hub-api.js';
import type { JobQueue, QueueMessage } from '../../src/ports/job-queue.js';

const HOUR = 3_600_000;
const JOB: Job = { analysisId: 1, submissionId: 42, userId: 'u', submissionFilename: 'a.zip', pythonVersion: '3.11' };
const BODY = JSON.stringify({ analysis_pk: 1, submission_pk: 42, user_pk: 'u', submission_filename: 'a.zip', python_version: '3.11' });

const message = (receiveCount: number, firstReceivedAt = Date.now()): QueueMessage => ({ id: 'm', body: BODY, receiptHandle: 'r', receiveCount, firstReceivedAt });
const failed = (error: WorkerError, retry: boolean, told: boolean): JobEvent => ({ type: 'failed', error, retry, told });

test('error types are the original exception classes of each prefix', () => {
  assert.is(errorTypeOf('wr_6'), 'WorkerException');
  assert.is(errorTypeOf('op_7'), 'RunnerException');
  assert.is(errorTypeOf('sb_1'), 'SubmissionException');
});

test('retryable: infrastructure codes by default, a Hub refusal (4xx) never, a Hub server error yes', () => {
  assert.ok(new WorkerError('wr_2', 'download failed').retryable);
  assert.not.ok(new WorkerError('op_7', 'cutoff').retryable);
  assert.ok(asWorkerError(new Error('socket hang up'), 'wr_1').retryable);
  assert.not.ok(new HubApiError('wr_4', 'PUT result', 400, 'mean_runtime may not be null').retryable);
  assert.ok(new HubApiError('wr_4', 'PUT result', 503, '').retryable);
});

test('outcome: finished and told failures are deleted; retries and untold failures go back while tries remain', () => {
  const transient = new WorkerError('wr_1', 'upload failed');
  assert.equal(outcomeOf(JOB, failed(transient, true, false), 1, 3), { action: 'released', submissionId: 42, code: 'wr_1' });
  assert.equal(outcomeOf(JOB, failed(transient, false, true), 3, 3), { action: 'deleted', submissionId: 42, result: 'failed' });
  assert.equal(outcomeOf(JOB, failed(new WorkerError('op_7', 'x'), false, false), 2, 3), { action: 'released', submissionId: 42, code: 'op_7' });
  assert.equal(outcomeOf(JOB, failed(new WorkerError('op_7', 'x'), false, false), 3, 3), { action: 'deleted', submissionId: 42, result: 'failed' });
  assert.equal(outcomeOf(JOB, failed(new WorkerError('op_7', 'x'), false, true), 1, 3), { action: 'deleted', submissionId: 42, result: 'failed' });
});

test('the job budget is the configured limit, less for a message whose 12-hour cap is partly spent', () => {
  const now = Date.now();
  assert.is(jobTimeBudget(message(1, now), 11 * HOUR, now), 11 * HOUR);
  // First received 5 hours ago: 12 h - 5 h - the 15-minute settling margin.
  assert.is(jobTimeBudget(message(2, now - 5 * HOUR), 11 * HOUR, now), 7 * HOUR - 15 * 60_000);
  assert.ok(jobTimeBudget(message(2, now - 12 * HOUR), 11 * HOUR, now) <= 0);
});

test('receipt: a message taken more than maxReceives times, or with no time left, is refused with its reason', () => {
  assert.is(receiptRefusal(message(3), 3, HOUR), undefined);
  const crashed = receiptRefusal(message(4), 3, HOUR);
  assert.is(crashed?.code, 'wr_500');
  assert.match(crashed?.message ?? '', 'taken 4 times');
  assert.is(receiptRefusal(message(1), 3, 0)?.code, 'op_500');
});

interface Recorder {
  readonly statuses: SubmissionStatus[];
  readonly reports: BreakingError[];
  readonly queue: string[];
}

/** Deps whose Hub and queue record what they are asked; the job's own ports are never reached in these cases. */
function depsRecording(hubUp: boolean): { deps: MessageDeps; seen: Recorder } {
  const seen: Recorder = { statuses: [], reports: [], queue: [] };
  const unreachable = () => Promise.reject(new WorkerError('wr_5', 'connect ECONNREFUSED'));
  const hub = {
    setStatus: async (_id: number, status: SubmissionStatus) => (hubUp ? void seen.statuses.push(status) : unreachable()),
    reportBreakingError: async (_id: number, error: BreakingError) => (hubUp ? void seen.reports.push(error) : unreachable()),
  } as unknown as HubApi;
  const queue: JobQueue = {
    receive: async () => undefined,
    extendVisibility: async () => undefined,
    delete: async () => void seen.queue.push('delete'),
    release: async () => void seen.queue.push('release'),
  };
  const deps = { hub, queue, heartbeat: () => NEVER, maxReceives: 3, jobTimeLimitMs: 11 * HOUR, logLevel: 'silent', log: pino({ level: 'silent' }), workDir: '/nonexistent' };
  return { deps: deps as unknown as MessageDeps, seen };
}

test('a message received too often is reported failed (wr_500) and deleted without running', async () => {
  const { deps, seen } = depsRecording(true);
  const outcome = await lastValueFrom(handleMessage(message(4), deps));
  assert.equal(outcome, { action: 'deleted', submissionId: 42, result: 'failed' });
  assert.equal(seen.statuses, ['failed']);
  assert.is(seen.reports[0]?.error_code, 'wr_500');
  assert.is(seen.reports[0]?.error_type, 'WorkerException');
  assert.equal(seen.queue, ['delete']);
});

test('a refused message the Hub cannot be told about is released, so the submission does not read running for good', async () => {
  const { deps, seen } = depsRecording(false);
  const outcome = await lastValueFrom(handleMessage(message(4), deps));
  assert.equal(outcome, { action: 'released', submissionId: 42, code: 'wr_500' });
  assert.equal(seen.queue, ['release']);
});

test('a body with no readable submission id is deleted at once: there is nobody to tell', async () => {
  const { deps, seen } = depsRecording(false);
  const outcome = await lastValueFrom(handleMessage({ ...message(1), body: 'not JSON' }, deps));
  assert.equal(outcome, { action: 'deleted', submissionId: undefined, result: 'invalid' });
  assert.equal(seen.queue, ['delete']);
});

test('an invalid body is reported when its submission id can be read, and deleted', async () => {
  const { deps, seen } = depsRecording(true);
  const invalid: QueueMessage = { ...message(1), body: JSON.stringify({ submission_pk: 7 }) };
  const outcome = await lastValueFrom(handleMessage(invalid, deps));
  assert.equal(outcome, { action: 'deleted', submissionId: 7, result: 'invalid' });
  assert.equal(seen.statuses, ['failed']);
  assert.equal(seen.queue, ['delete']);
});

test.run();
