import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { throwError } from 'rxjs';
import { marbleScheduler } from './marbles.js';
import { WorkerError } from '../../src/domain/errors.js';

test('errors of the same class and message are equal', () => {
  marbleScheduler().run(({ expectObservable }) => {
    expectObservable(throwError(() => new WorkerError('wr_6', 'bad'))).toBe(
      '#',
      undefined,
      new WorkerError('wr_6', 'bad'),
    );
  });
});

/** uvu's assert.throws rethrows assertion errors, so a failed comparison is caught here instead. */
function fails(run: () => void): boolean {
  try {
    run();
    return false;
  } catch {
    return true;
  }
}

test('errors with another code or message differ', () => {
  assert.ok(
    fails(() =>
      marbleScheduler().run(({ expectObservable }) => {
        expectObservable(throwError(() => new WorkerError('wr_6', 'bad'))).toBe(
          '#',
          undefined,
          new WorkerError('wr_7', 'bad'),
        );
      }),
    ),
  );
  assert.ok(
    fails(() =>
      marbleScheduler().run(({ expectObservable }) => {
        expectObservable(throwError(() => new WorkerError('wr_6', 'bad'))).toBe('#', undefined, new Error('bad'));
      }),
    ),
  );
});

test.run();
