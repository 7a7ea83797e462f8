import { pino } from 'pino';
import { lastValueFrom, NEVER } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rm } from 'node:fs/promises';
import { HubApiError } from '../../src/adapters/hub-session.js';
import { asWorkerError, errorTypeOf, WorkerError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import type { JobOutcome } from '../../src/domain/job-event.js';
import {
  type MessageOptions,
  type MessagePorts,
  outcomeOf,
  receiptRefusal,
  jobTimeBudget,
  settleMessage,
} from '../../src/operators/settle-message.js';
import { receiptsSpent } from '../../src/domain/ledger.js';
import type { QueueMessage } from '../../src/ports/job-queue.js';
import { RecordingQueue } from '../../src/adapters/simulated/queue.js';
import { FAKE_LIMITS, FAKE_WORKER, type FakeJobWorld, fakeJobWorld } from '../helpers/fake-ports.js';

const HOUR = 3_600_000;
const JOB: Job = { analysisId: 1, submissionId: 42, userId: 'u', submissionFilename: 'a.zip', pythonVersion: '3.11' };
const BODY = JSON.stringify({
  analysis_pk: 1,
  submission_pk: 42,
  user_pk: 'u',
  submission_filename: 'a.zip',
  python_version: '3.11',
});

const message = (receiveCount: number, firstReceivedAt = Date.now()): QueueMessage => ({
  id: 'm',
  body: BODY,
  receiptHandle: 'r',
  receiveCount,
  firstReceivedAt,
});
const failed = (error: WorkerError, retry: boolean, told: boolean): JobOutcome => ({
  type: 'failed',
  error,
  retry,
  told,
});

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
  assert.equal(outcomeOf(JOB, failed(transient, true, false), 1, 3), {
    action: 'released',
    submissionId: 42,
    code: 'wr_1',
  });
  assert.equal(outcomeOf(JOB, failed(transient, false, true), 3, 3), {
    action: 'deleted',
    submissionId: 42,
    result: 'failed',
  });
  assert.equal(outcomeOf(JOB, failed(new WorkerError('op_7', 'x'), false, false), 2, 3), {
    action: 'released',
    submissionId: 42,
    code: 'op_7',
  });
  assert.equal(outcomeOf(JOB, failed(new WorkerError('op_7', 'x'), false, false), 3, 3), {
    action: 'deleted',
    submissionId: 42,
    result: 'failed',
  });
  assert.equal(outcomeOf(JOB, failed(new WorkerError('op_7', 'x'), false, true), 1, 3), {
    action: 'deleted',
    submissionId: 42,
    result: 'failed',
  });
});

test('the job budget is the configured limit, less for a message whose 12-hour cap is partly spent', () => {
  const now = Date.now();
  assert.is(jobTimeBudget(message(1, now), 11 * HOUR, now), 11 * HOUR);
  // First received 5 hours ago: 12 h - 5 h - the 15-minute settling margin.
  assert.is(jobTimeBudget(message(2, now - 5 * HOUR), 11 * HOUR, now), 7 * HOUR - 15 * 60_000);
  assert.ok(jobTimeBudget(message(2, now - 12 * HOUR), 11 * HOUR, now) <= 0);
});

test('receipt: a message whose receipts spent more than maxReceives tries, or with no time left, is refused with its reason', () => {
  assert.is(receiptRefusal(message(3), 3, 3, HOUR), undefined);
  const crashed = receiptRefusal(message(4), 4, 3, HOUR);
  assert.is(crashed?.code, 'wr_500');
  assert.match(crashed?.message ?? '', 'taken 4 times and');
  assert.match(receiptRefusal(message(6), 4, 3, HOUR)?.message ?? '', 'taken 6 times (2 handed back on a stop)');
  assert.is(receiptRefusal(message(1), 1, 3, 0)?.code, 'op_500');
});

test('receipts spent: an attempt handed back on a stop is not a try, up to maxReceives of them', () => {
  assert.is(receiptsSpent(3, 0, 3), 3);
  assert.is(receiptsSpent(3, 1, 3), 2);
  assert.is(receiptsSpent(9, 7, 3), 6, 'a worker stopped over and over by its host still ends the job');
});

/** Ports whose Hub and queue record what they are asked; the Hub is up or unreachable. */
async function portsRecording(hubUp: boolean) {
  const world = await fakeJobWorld();
  worlds.push(world);
  if (!hubUp) for (const call of ['status failed', 'breaking error']) world.hub.unreachableFor(call);
  const queue = new RecordingQueue();
  const ports: MessagePorts = { ...world.ports, queue, heartbeat: () => NEVER, ledgers: world.ledgers };
  const options: MessageOptions = {
    limits: FAKE_LIMITS,
    jobTimeLimitMs: 11 * HOUR,
    maxReceives: 3,
    workDir: world.workDir,
    workerId: FAKE_WORKER,
    keepWorkspace: false,
    logLevel: 'silent',
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  };
  const seen = { statuses: world.hub.statuses, reports: world.hub.breakingErrors, queue: queue.actions };
  return { ports, options, seen, world };
}

const worlds: FakeJobWorld[] = [];
test.after.each(async () => {
  for (const world of worlds.splice(0)) await rm(world.workDir, { recursive: true, force: true });
});

test('a message received too often is reported failed (wr_500) and deleted without running', async () => {
  const { ports, options, seen } = await portsRecording(true);
  const outcome = await lastValueFrom(settleMessage(message(4), ports, options));
  assert.equal(outcome, { action: 'deleted', submissionId: 42, result: 'failed' });
  assert.equal(seen.statuses, ['failed']);
  assert.is(seen.reports[0]?.error_code, 'wr_500');
  assert.is(seen.reports[0]?.error_type, 'WorkerException');
  assert.equal(seen.queue, ['delete']);
});

test('a refused message the Hub cannot be told about is released, so the submission does not read running for good', async () => {
  const { ports, options, seen } = await portsRecording(false);
  const outcome = await lastValueFrom(settleMessage(message(4), ports, options));
  assert.equal(outcome, { action: 'released', submissionId: 42, code: 'wr_500' });
  assert.equal(seen.queue, ['release']);
});

test('a body with no readable submission id is deleted at once: there is nobody to tell', async () => {
  const { ports, options, seen } = await portsRecording(false);
  const outcome = await lastValueFrom(settleMessage({ ...message(1), body: 'not JSON' }, ports, options));
  assert.equal(outcome, { action: 'deleted', submissionId: undefined, result: 'invalid' });
  assert.equal(seen.queue, ['delete']);
});

test('an invalid body is reported when its submission id can be read, and deleted', async () => {
  const { ports, options, seen } = await portsRecording(true);
  const invalid: QueueMessage = { ...message(1), body: JSON.stringify({ submission_pk: 7 }) };
  const outcome = await lastValueFrom(settleMessage(invalid, ports, options));
  assert.equal(outcome, { action: 'deleted', submissionId: 7, result: 'invalid' });
  assert.equal(seen.statuses, ['failed']);
  assert.equal(seen.queue, ['delete']);
});

test('outcome: a job stopped by a signal is released for another worker', () => {
  assert.equal(outcomeOf(JOB, { type: 'cancelled', reason: 'SIGTERM' }, 1, 3), {
    action: 'released',
    submissionId: 42,
    stoppedBy: 'SIGTERM',
  });
});

const RUNNABLE = JSON.stringify({
  analysis_pk: 1,
  submission_pk: 7,
  user_pk: 'u',
  submission_filename: 'time-shift-correct',
  python_version: '3.11',
});

test('a job that finishes is deleted; one stopped by the signal mid-run is released, its containers and workspace gone', async () => {
  const done = await portsRecording(true);
  const finished = await lastValueFrom(settleMessage({ ...message(1), body: RUNNABLE }, done.ports, done.options));
  assert.equal(finished, { action: 'deleted', submissionId: 7, result: 'finished' });
  assert.equal(done.seen.queue, ['delete']);

  const stopped = await portsRecording(true);
  const hanging = await fakeJobWorld({ behaviour: () => ({ kind: 'hangs' }) });
  worlds.push(hanging);
  const stop = new AbortController();
  setTimeout(() => stop.abort('SIGTERM'), 100);
  const outcome = await lastValueFrom(
    settleMessage(
      { ...message(1), body: RUNNABLE },
      { ...stopped.ports, engine: hanging.engine },
      { ...stopped.options, signal: stop.signal },
    ),
  );
  assert.equal(outcome, { action: 'released', submissionId: 7, stoppedBy: 'SIGTERM' });
  assert.equal(stopped.seen.queue, ['release']);
  assert.equal(stopped.seen.statuses, ['running'], 'the Hub is not told: the next worker runs it');
  assert.is(hanging.engine.running.size, 0);
  assert.is(stopped.world.ledgers.stops.size, 1, 'the attempt is marked stopped: it spent none of the tries');
});

test('a message received more than maxReceives times runs when the receipts beyond were attempts stopped by a signal', async () => {
  const { ports, options, seen, world } = await portsRecording(true);
  world.ledgers.stops.add('a-deploy').add('a-scale-in');
  const outcome = await lastValueFrom(settleMessage({ ...message(4), body: RUNNABLE }, ports, options));
  assert.equal(outcome, { action: 'deleted', submissionId: 7, result: 'finished' });
  assert.equal(seen.statuses, ['running', 'finished']);
});

test('a job that fails on our infrastructure is released while its tries remain, stops not counted among them', async () => {
  const { ports, options, seen, world } = await portsRecording(true);
  world.ledgers.stops.add('a-deploy');
  // As the HTTP adapter reports a metadata GET that got no answer through its retries.
  const noAnswer = 'GET file_metadata/filemetadata/5/ failed: no answer within 3 s';
  world.hub.failing.set('file metadata', new WorkerError('wr_7', noAnswer, { retryable: true }));
  const outcome = await lastValueFrom(settleMessage({ ...message(3), body: RUNNABLE }, ports, options));
  assert.equal(outcome, { action: 'released', submissionId: 7, code: 'wr_7' });
  assert.equal(seen.queue, ['release']);
  assert.not.ok(seen.statuses.includes('failed'), 'the Hub is not told it failed: another try may pass');
});

test('a message whose job gave the Hub its final status already (its delete was lost) is only deleted: nothing runs, nothing is told', async () => {
  const { ports, options, seen, world } = await portsRecording(true);
  world.ledgers.facts.push({ call: 'status-finished', tryId: 'an-earlier-attempt', kind: 'sent' });
  // Received past maxReceives too: what the Hub shows already is not reported failed.
  const outcome = await lastValueFrom(settleMessage({ ...message(4), body: RUNNABLE }, ports, options));
  assert.equal(outcome, { action: 'deleted', submissionId: 7, result: 'finished' });
  assert.equal(seen.queue, ['delete']);
  assert.equal(world.hub.calls, []);
  assert.equal(world.engine.started, []);
});

test.run();
