import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromAbortable } from '../../src/streams/from-abortable.js';

test("emits the step's value, then completes; nothing starts before a subscription", async () => {
  let started = 0;
  const step$ = fromAbortable(async () => {
    started += 1;
    return 42;
  });
  assert.is(started, 0, 'cold');
  assert.equal(await lastValueFrom(step$.pipe(toArray())), [42]);
  assert.is(started, 1);
});

test("a rejection is the stream's error", async () => {
  const failure = new Error('build failed');
  try {
    await firstValueFrom(fromAbortable(() => Promise.reject(failure)));
    assert.unreachable();
  } catch (error) {
    assert.is(error, failure);
  }
});

test('unsubscribing before the step settled aborts its signal; after it settled, not', async () => {
  let seen: AbortSignal | undefined;
  const pending = fromAbortable((signal) => {
    seen = signal;
    return new Promise<number>(() => undefined);
  }).subscribe();
  assert.not.ok(seen?.aborted);
  pending.unsubscribe();
  assert.ok(seen?.aborted, 'aborted on unsubscribe');

  let settled: AbortSignal | undefined;
  await lastValueFrom(
    fromAbortable(async (signal) => {
      settled = signal;
      return 1;
    }),
  );
  assert.not.ok(settled?.aborted, 'a finished step is not aborted');
});

test.run();
