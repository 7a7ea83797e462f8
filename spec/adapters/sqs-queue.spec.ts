import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { createSqsClient, SqsJobQueue } from '../../src/adapters/sqs-queue.js';
import { WorkerError } from '../../src/domain/errors.js';
import { localAwsSettings, requireServices, type Services, testSqsClient, uniqueName } from '../helpers/services.js';

let services: Services;
const TIMEOUTS = { connectMs: 5_000, answerMs: 30_000 };

test.before.each(async () => {
  services = await requireServices();
});

const settings = () => localAwsSettings({ sqs: services.sqsEndpoint }, TIMEOUTS);

function queueOf(queueName: string, leaseSeconds = 30, createQueue = true): SqsJobQueue {
  return new SqsJobQueue(createSqsClient(settings(), 20), {
    queueName,
    createQueue,
    leaseSeconds,
    answerMs: TIMEOUTS.answerMs,
  });
}

/** A FIFO queue as the Hub's API makes and feeds it (contract §1). */
async function hubQueue(): Promise<{ name: string; url: string }> {
  const name = `${uniqueName('pvhub-spec')}.fifo`;
  const created = await testSqsClient(services).send(
    new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }),
  );
  return { name, url: created.QueueUrl ?? '' };
}

async function send(url: string, submission: number): Promise<void> {
  await testSqsClient(services).send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: JSON.stringify({ submission_pk: submission }),
      MessageGroupId: '1',
      MessageDeduplicationId: String(submission),
    }),
  );
}

const never = new AbortController().signal;
const bodyOf = (message: { body: string } | undefined) =>
  message ? (JSON.parse(message.body) as { submission_pk: number }).submission_pk : undefined;

test('a missing queue is created FIFO, content-based deduplication off, when creation is on', async () => {
  const name = `${uniqueName('pvhub-spec-new')}.fifo`;
  const queue = queueOf(name);
  assert.is(await queue.receive(0, never), undefined);
  const client = testSqsClient(services);
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: name }));
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
  assert.is(Attributes?.FifoQueue, 'true');
  assert.is(Attributes?.ContentBasedDeduplication, 'false');
});

test('a missing queue without creation is wr_1 "no queue <name>"', async () => {
  const name = `${uniqueName('pvhub-spec-absent')}.fifo`;
  try {
    await queueOf(name, 30, false).receive(0, never);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, WorkerError);
    assert.is((error as WorkerError).code, 'wr_1');
    assert.is((error as WorkerError).message, `no queue ${name}`);
  }
});

test('one message at a time, oldest first; the single group holds the next while one is in flight', async () => {
  const { name, url } = await hubQueue();
  await send(url, 11);
  await send(url, 12);
  const queue = queueOf(name);
  const before = Date.now();
  const first = await queue.receive(1, never);
  assert.is(bodyOf(first), 11);
  assert.is(first?.receiveCount, 1);
  assert.ok(
    first && first.firstReceivedAt >= before - 2000 && first.firstReceivedAt <= Date.now() + 2000,
    'first receipt time is now',
  );
  assert.is(await queue.receive(1, never), undefined, 'FIFO group blocked while 11 is in flight');
  await queue.delete(first!);
  assert.is(bodyOf(await queue.receive(1, never)), 12);
});

test('long poll: waits for the wait when empty, returns as soon as a message arrives', async () => {
  const { name, url } = await hubQueue();
  const queue = queueOf(name);
  let started = Date.now();
  assert.is(await queue.receive(2, never), undefined);
  assert.ok(Date.now() - started >= 1800, `empty long poll returned after ${Date.now() - started} ms`);
  started = Date.now();
  const pending = queue.receive(10, never);
  setTimeout(() => void send(url, 21), 500);
  assert.is(bodyOf(await pending), 21);
  assert.ok(Date.now() - started < 5000, 'returned when the message arrived, not at the end of the wait');
});

test('aborting a long poll ends it at once', async () => {
  const { name } = await hubQueue();
  const queue = queueOf(name);
  await queue.queueUrl();
  const abort = new AbortController();
  const started = Date.now();
  setTimeout(() => abort.abort(), 200);
  try {
    await queue.receive(20, abort.signal);
    assert.unreachable();
  } catch (error) {
    assert.not.instance(error, WorkerError);
  }
  assert.ok(Date.now() - started < 3000);
});

test('the lease hides the message; extending it keeps it hidden past the lease; without, it comes back', async () => {
  const { name, url } = await hubQueue();
  await send(url, 31);
  const queue = queueOf(name, 2);
  const message = await queue.receive(1, never);
  assert.is(bodyOf(message), 31);
  await queue.extendVisibility(message!, 6);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.is(await queue.receive(0, never), undefined, 'still hidden after the 2 s lease');
  const again = await queue.receive(6, never);
  assert.is(bodyOf(again), 31, 'back after the extension ran out');
  assert.is(again?.receiveCount, 2);
  assert.is(again?.firstReceivedAt, message?.firstReceivedAt);
});

test('release gives the message back at once; delete removes it for good', async () => {
  const { name, url } = await hubQueue();
  await send(url, 41);
  const queue = queueOf(name, 600);
  const first = await queue.receive(1, never);
  await queue.release(first!);
  const second = await queue.receive(1, never);
  assert.is(bodyOf(second), 41);
  assert.is(second?.receiveCount, 2);
  await queue.delete(second!);
  assert.is(await queue.receive(1, never), undefined);
  // A delete sent again, as after a lost answer, finds its receipt handle gone: done, not an error.
  await queue.delete(second!);
  await queue.delete({ ...second!, receiptHandle: 'no-such-receipt-handle' });
});

test.run();
