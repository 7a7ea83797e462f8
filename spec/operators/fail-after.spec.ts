import { test } from 'uvu';
import { WorkerError } from '../../src/domain/errors.js';
import { failAfter } from '../../src/operators/fail-after.js';
import { marbleScheduler } from '../helpers/marbles.js';

const late = () => new WorkerError('op_500', 'too late');

test('errors when the source outlives the limit, and stops it', () => {
  const scheduler = marbleScheduler();
  scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c-|');
    expectObservable(source.pipe(failAfter(4, late, scheduler))).toBe('-a-b#', undefined, late());
    expectSubscriptions(source.subscriptions).toBe('^---!');
  });
});

test('a source that completes in time passes through untouched', () => {
  const scheduler = marbleScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    expectObservable(cold('-a-|').pipe(failAfter(10, late, scheduler))).toBe('-a-|');
  });
});

test('a quiet source still gets the error at the limit', () => {
  const scheduler = marbleScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    expectObservable(cold('-------').pipe(failAfter(3, late, scheduler))).toBe('---#', undefined, late());
  });
});

test.run();
