import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSqsClient, SQS_ATTEMPTS, SqsJobQueue } from '../../src/adapters/sqs-queue.js';
import { WorkerError } from '../../src/domain/errors.js';
import type { QueueMessage } from '../../src/ports/job-queue.js';
import {
  failureOf,
  type FullAnswer,
  type Stall,
  startStallingServer,
  type StallingServer,
} from '../helpers/stalling-server.js';
import { localAwsSettings } from '../helpers/services.js';

const ANSWER_MS = 300;
/** Each try waits out the answer limit; the rest is the SDK's backoff (at most 100 ms, then 200 ms) and its work. */
const BOUND_MS = SQS_ATTEMPTS * ANSWER_MS + 1500;
const QUEUE = 'valhub_submission_queue.fifo';
const JSON_HEADERS = { 'Content-Type': 'application/x-amz-json-1.0' };
const MESSAGE: QueueMessage = { id: 'm', body: '{}', receiptHandle: 'r', receiveCount: 1, firstReceivedAt: 0 };
const never = new AbortController().signal;

let server: StallingServer | undefined;

test.after.each(async () => {
  await server?.close();
  server = undefined;
});

/** The queue's URL lookup is answered (with a URL on the stalling server, which the SDK then sends to); all else stalls. */
const lookupAnswered = (head: string, url: string): FullAnswer | undefined =>
  /x-amz-target: AmazonSQS\.GetQueueUrl/i.test(head)
    ? { headers: JSON_HEADERS, body: JSON.stringify({ QueueUrl: `${url}/000000000000/${QUEUE}` }) }
    : undefined;

async function queueBehind(
  stall: Stall,
  options: { answerMs?: number; longestWaitSeconds?: number; signal?: AbortSignal } = {},
): Promise<SqsJobQueue> {
  const answerMs = options.answerMs ?? ANSWER_MS;
  server = await startStallingServer(stall, { answered: lookupAnswered });
  const client = createSqsClient(
    localAwsSettings({ sqs: server.url }, { connectMs: 1000, answerMs }),
    options.longestWaitSeconds ?? 0,
  );
  const queue = new SqsJobQueue(client, {
    queueName: QUEUE,
    createQueue: false,
    leaseSeconds: 30,
    answerMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await queue.queueUrl();
  return queue;
}

/** A failure of ours after the SDK's tries: the operation named, the SDK's time-out as the cause, in time. */
function assertTimedOut(failure: { error: unknown; ms: number }, what: string): void {
  const { error, ms } = failure;
  assert.instance(error, WorkerError);
  const typed = error as WorkerError;
  assert.is(typed.code, 'wr_500');
  assert.ok(typed.retryable);
  assert.match(typed.message, `SQS ${what} failed after ${SQS_ATTEMPTS} tries: `);
  assert.is((typed.cause as Error).name, 'TimeoutError');
  // The lookup's connection, then one per try.
  assert.is(server?.connections(), 1 + SQS_ATTEMPTS, 'each try gave up its connection and opened a new one');
  assert.ok(ms < BOUND_MS, `gave up in ${ms} ms`);
  assert.ok(ms >= SQS_ATTEMPTS * ANSWER_MS, `each try waited out the limit (${ms} ms)`);
}

test('a receive that is never answered times out, is retried by the SDK, and fails as ours', async () => {
  const queue = await queueBehind({ kind: 'silent' });
  assertTimedOut(await failureOf(() => queue.receive(0, never)), 'receive');
});

test('a receive whose body stalls after the headers times out, is retried, and fails as ours', async () => {
  const queue = await queueBehind({ kind: 'headers-then-stall', headers: JSON_HEADERS, bodyBytes: 500, sentBytes: 20 });
  assertTimedOut(await failureOf(() => queue.receive(0, never)), 'receive');
});

test("a long poll is not cut by the answer limit: a receive's limit starts after its wait", async () => {
  const queue = await queueBehind({ kind: 'silent' }, { longestWaitSeconds: 1 });
  const abort = new AbortController();
  const started = Date.now();
  let retriedAt: number | undefined;
  const watch = setInterval(() => {
    if (server?.connections() === 3) {
      retriedAt = Date.now() - started;
      abort.abort();
    }
  }, 10);
  const { error } = await failureOf(() => queue.receive(1, abort.signal));
  clearInterval(watch);
  assert.is((error as Error).name, 'AbortError', "the caller's abort passes as it is");
  assert.ok(retriedAt !== undefined && retriedAt >= 1000 + ANSWER_MS - 50, `the first try lasted ${retriedAt} ms`);
});

test('a visibility change and a delete that are never answered time out, are retried, and fail as ours', async () => {
  const queue = await queueBehind({ kind: 'silent' });
  assertTimedOut(await failureOf(() => queue.release(MESSAGE)), 'visibility change');
  await server?.close();
  const deleting = await queueBehind({
    kind: 'headers-then-stall',
    headers: JSON_HEADERS,
    bodyBytes: 50,
    sentBytes: 0,
  });
  assertTimedOut(await failureOf(() => deleting.delete(MESSAGE)), 'delete');
});

test("the queue's signal abandons a stalled request at once, and tries no more", async () => {
  const stop = new AbortController();
  const queue = await queueBehind({ kind: 'silent' }, { answerMs: 60_000, signal: stop.signal });
  setTimeout(() => stop.abort('SIGTERM'), 200);
  const { error, ms } = await failureOf(() => queue.release(MESSAGE));
  assert.is((error as Error).name, 'AbortError');
  assert.ok(ms < 1500, `abandoned in ${ms} ms`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.is(server?.connections(), 2, 'the lookup and the one try');
});

test.run();
