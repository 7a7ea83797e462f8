import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { abortAfterGrace, anySignal } from '../src/signals.js';

test("the grace's signal aborts that long after the stop, with the stop's reason, and not before", async () => {
  const stop = new AbortController();
  const deadline = abortAfterGrace(stop.signal, 150);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.not.ok(deadline.aborted, 'no stop, no deadline');
  const stoppedAt = Date.now();
  stop.abort('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.not.ok(deadline.aborted, 'the grace is not over yet');
  // The deadline's timer does not keep a process alive: this one does, until it fires.
  const keepAlive = setTimeout(() => undefined, 1000);
  await new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
  clearTimeout(keepAlive);
  assert.ok(Date.now() - stoppedAt >= 145);
  assert.is(deadline.reason, 'SIGTERM');
});

test('a signal aborted already starts the grace at once', async () => {
  const stop = new AbortController();
  stop.abort('SIGINT');
  const deadline = abortAfterGrace(stop.signal, 20);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.ok(deadline.aborted);
  assert.is(deadline.reason, 'SIGINT');
});

test('anySignal: none given is none, one is itself, two abort with the first of them', () => {
  assert.is(anySignal(undefined, undefined), undefined);
  const own = new AbortController();
  assert.is(anySignal(own.signal, undefined), own.signal);
  const caller = new AbortController();
  const both = anySignal(own.signal, caller.signal);
  assert.not.ok(both?.aborted);
  caller.abort('job cancelled');
  assert.ok(both?.aborted);
  assert.is(both?.reason, 'job cancelled');
});

test.run();
