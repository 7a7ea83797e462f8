import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelay, isNetworkError, isUndeliveredError, retrying } from '../../src/domain/retry.js';

const POLICY = { attempts: 4, baseDelayMs: 100, maxDelayMs: 300 };

test('backoff doubles from the base, is capped, and jitters within the upper half', () => {
  assert.equal(
    [1, 2, 3, 4].map((attempt) => backoffDelay(POLICY, attempt, 0)),
    [50, 100, 150, 150],
  );
  assert.equal(
    [1, 2, 3, 4].map((attempt) => backoffDelay(POLICY, attempt, 0.999999)),
    [100, 200, 300, 300],
  );
});

test('retries transient failures until success, waiting the backoff between tries', async () => {
  const waits: number[] = [];
  let calls = 0;
  const result = await retrying(
    async (attempt) => {
      calls += 1;
      if (attempt < 3) throw new Error('flaky');
      return 'ok';
    },
    () => true,
    POLICY,
    { sleep: async (ms) => void waits.push(ms), random: () => 0 },
  );
  assert.is(result, 'ok');
  assert.is(calls, 3);
  assert.equal(waits, [50, 100]);
});

test('a failure that is not transient is thrown at once', async () => {
  let calls = 0;
  try {
    await retrying(
      async () => {
        calls += 1;
        throw new Error('bad request');
      },
      () => false,
      POLICY,
      { sleep: async () => undefined },
    );
    assert.unreachable();
  } catch (error) {
    assert.is((error as Error).message, 'bad request');
  }
  assert.is(calls, 1);
});

test('after the last try the last error is thrown; onRetry saw every earlier one', async () => {
  const seen: number[] = [];
  let calls = 0;
  try {
    await retrying(
      async () => {
        calls += 1;
        throw new Error(`failure ${calls}`);
      },
      () => true,
      POLICY,
      { sleep: async () => undefined, onRetry: (_error, attempt) => seen.push(attempt) },
    );
    assert.unreachable();
  } catch (error) {
    assert.is((error as Error).message, 'failure 4');
  }
  assert.equal(seen, [1, 2, 3]);
});

test('network errors are found anywhere in the cause chain, time-outs included', () => {
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.ok(isNetworkError(reset));
  assert.ok(isNetworkError(new TypeError('fetch failed', { cause: reset })));
  assert.ok(isNetworkError(new DOMException('timed out', 'TimeoutError')));
  assert.not.ok(isNetworkError(new Error('400 bad request')));
  assert.not.ok(isNetworkError(undefined));
});

test('undelivered: only a connection that never formed, never a time-out or a reset after sending', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.ok(isUndeliveredError(new TypeError('fetch failed', { cause: refused })));
  assert.ok(isUndeliveredError(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
  assert.not.ok(isUndeliveredError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })));
  assert.not.ok(isUndeliveredError(new DOMException('timed out', 'TimeoutError')));
});

test.run();
