import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { firstValueFrom } from 'rxjs';
import type { JobQueue, QueueMessage } from '../../src/ports/job-queue.js';
import { nextMessage } from '../../src/streams/next-message.js';

/** A queue that answers each receive from a script: undefined = an empty long poll. */
function scriptedQueue(answers: Array<QueueMessage | undefined>) {
  const calls: number[] = [];
  let aborted = 0;
  const queue: JobQueue = {
    receive: (wait, signal) => {
      calls.push(wait);
      if (answers.length === 0) {
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted += 1;
            reject(new Error('aborted'));
          }),
        );
      }
      return Promise.resolve(answers.shift());
    },
    extendVisibility: async () => undefined,
    delete: async () => undefined,
    release: async () => undefined,
  };
  return { queue, calls, aborted: () => aborted };
}

const message: QueueMessage = { id: 'm1', body: '{}', receiptHandle: 'r1', receiveCount: 1, firstReceivedAt: 0 };

test('polls through empty answers and completes with the first message', async () => {
  const { queue, calls } = scriptedQueue([undefined, undefined, message]);
  let empty = 0;
  assert.equal(await firstValueFrom(nextMessage(queue, 20, () => (empty += 1))), message);
  assert.equal(calls, [20, 20, 20]);
  assert.is(empty, 2);
});

test('asks for nothing more once it has a message', async () => {
  const { queue, calls } = scriptedQueue([message, message]);
  const seen: QueueMessage[] = [];
  await new Promise<void>((resolve) =>
    nextMessage(queue, 5).subscribe({ next: (m) => seen.push(m), complete: resolve }),
  );
  assert.is(seen.length, 1);
  assert.is(calls.length, 1);
});

test('unsubscribing aborts the poll under way, silently', async () => {
  const { queue, aborted } = scriptedQueue([]);
  const errors: unknown[] = [];
  const subscription = nextMessage(queue, 20).subscribe({ error: (error) => errors.push(error) });
  subscription.unsubscribe();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.is(aborted(), 1);
  assert.equal(errors, []);
});

test('a failing receive errors the stream', async () => {
  const queue: JobQueue = { ...scriptedQueue([]).queue, receive: () => Promise.reject(new Error('no queue')) };
  try {
    await firstValueFrom(nextMessage(queue, 1));
    assert.unreachable();
  } catch (error) {
    assert.is((error as Error).message, 'no queue');
  }
});

test.run();
