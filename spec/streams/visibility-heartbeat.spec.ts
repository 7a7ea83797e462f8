import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Observable, throwError } from 'rxjs';
import { marbleScheduler } from '../helpers/marbles.js';
import type { QueueMessage } from '../../src/ports/job-queue.js';
import {
  type Beat,
  messageHeartbeat,
  VISIBILITY_CAP_SECONDS,
  visibilityHeartbeat,
} from '../../src/streams/visibility-heartbeat.js';

const extended = (seconds: number): Beat => ({ kind: 'extended', seconds });

test('asks for a lease every half lease, until unsubscribed', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    const asked: number[] = [];
    const extend = (seconds: number) => {
      asked.push(seconds);
      return cold('(a|)');
    };
    const beats = visibilityHeartbeat(extend, { leaseSeconds: 10, firstReceivedAt: 0 });
    expectObservable(beats, '^ 16s !').toBe('5s a 4999ms b 4999ms c', {
      a: extended(10),
      b: extended(10),
      c: extended(10),
    });
  });
});

test('never asks past the cap: the last beat asks for what is left, then it completes', () => {
  marbleScheduler().run(({ cold, expectObservable, flush }) => {
    const asked: number[] = [];
    const extend = (seconds: number) => {
      asked.push(seconds);
      return cold('(a|)');
    };
    // cap 27 s: beats at 5, 10, 15 s ask 10 s; at 20 s only 7 s are left, which ends exactly at the cap.
    const beats = visibilityHeartbeat(extend, { leaseSeconds: 10, firstReceivedAt: 0, capSeconds: 27 });
    expectObservable(beats).toBe('5s a 4999ms b 4999ms c 4999ms (d|)', {
      a: extended(10),
      b: extended(10),
      c: extended(10),
      d: extended(7),
    });
    flush();
    assert.equal(asked, [10, 10, 10, 7]);
  });
});

test('the cap counts from the first receipt, not from the subscription', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    // Subscribed at 0, first received 15 s earlier; cap 22 s ⇒ 7 s left; the first beat (at 5 s) gets 2 s.
    const beats = visibilityHeartbeat(() => cold('(a|)'), {
      leaseSeconds: 10,
      firstReceivedAt: -15_000,
      capSeconds: 22,
    });
    expectObservable(beats).toBe('5s (a|)', { a: extended(2) });
  });
});

test('a message already at the cap gets no request at all', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    let calls = 0;
    const beats = visibilityHeartbeat(
      () => {
        calls += 1;
        return cold('(a|)');
      },
      { leaseSeconds: 10, firstReceivedAt: -30_000, capSeconds: 22 },
    );
    expectObservable(beats).toBe('5s |');
    assert.is(calls, 0);
  });
});

test('a refused beat is a value, and the next beat tries again', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    let call = 0;
    const extend = (): Observable<unknown> => {
      call += 1;
      return call === 1 ? throwError(() => new Error('refused')) : cold('(a|)');
    };
    const beats = visibilityHeartbeat(extend, { leaseSeconds: 10, firstReceivedAt: 0 });
    expectObservable(beats, '^ 11s !').toBe('5s r 4999ms a', {
      r: { kind: 'refused', seconds: 10, error: new Error('refused') },
      a: extended(10),
    });
  });
});

test('a refused last beat is asked again, for what is then left', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    let call = 0;
    const extend = (): Observable<unknown> => {
      call += 1;
      return call === 1 ? throwError(() => new Error('refused')) : cold('(a|)');
    };
    const beats = visibilityHeartbeat(extend, { leaseSeconds: 10, firstReceivedAt: 0, capSeconds: 12 });
    expectObservable(beats).toBe('5s r 4999ms (a|)', {
      r: { kind: 'refused', seconds: 7, error: new Error('refused') },
      a: extended(2),
    });
  });
});

test('a slow answer is not stacked on: beats while one is pending are skipped', () => {
  marbleScheduler().run(({ cold, expectObservable, flush }) => {
    let calls = 0;
    const extend = () => {
      calls += 1;
      return cold('7s (a|)');
    };
    const beats = visibilityHeartbeat(extend, { leaseSeconds: 10, firstReceivedAt: 0 });
    // Beat at 5 s answers at 12 s; the beat at 10 s is skipped; the one at 15 s answers at 22 s.
    expectObservable(beats, '^ 23s !').toBe('12s a 9999ms a', { a: extended(10) });
    flush();
    assert.is(calls, 2);
  });
});

test('messageHeartbeat extends through the queue with the message and the default 12 h cap', () => {
  marbleScheduler().run(({ expectObservable, flush }) => {
    const calls: Array<[string, number]> = [];
    const message: QueueMessage = { id: 'm', body: '{}', receiptHandle: 'r', receiveCount: 1, firstReceivedAt: 0 };
    const queue = {
      receive: async () => undefined,
      extendVisibility: async (m: QueueMessage, seconds: number) => {
        calls.push([m.receiptHandle, seconds]);
      },
      delete: async () => undefined,
      release: async () => undefined,
    };
    // Promises resolve outside virtual time, so the first request is still pending at the second beat (skipped).
    expectObservable(messageHeartbeat(queue, message, 600), '^ 601s !').toBe('');
    flush();
    assert.equal(calls, [['r', 600]]);
    assert.is(VISIBILITY_CAP_SECONDS, 43_200);
  });
});

test.run();
