import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alongside } from '../../src/operators/alongside.js';
import { marbleScheduler } from '../helpers/marbles.js';

test('the side runs exactly as long as the source, its values dropped', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const side = cold('-x-x-x-x-x-x');
    const source = cold('-a--b--|');
    expectObservable(source.pipe(alongside(side, () => undefined))).toBe('-a--b--|');
    expectSubscriptions(side.subscriptions).toBe('^------!');
  });
});

test('the side stops when the source errors or is unsubscribed', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const side = cold('-x-x-x-x');
    expectObservable(cold('--#').pipe(alongside(side, () => undefined))).toBe('--#');
    expectSubscriptions(side.subscriptions).toBe('^-!');
  });
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const side = cold('-x-x-x-x');
    expectObservable(cold('-a-b-c-d').pipe(alongside(side, () => undefined)), '---!').toBe('-a-');
    expectSubscriptions(side.subscriptions).toBe('^--!');
  });
});

test("the side's error is handed over, the source goes on", () => {
  const errors: unknown[] = [];
  marbleScheduler().run(({ cold, expectObservable }) => {
    expectObservable(
      cold('-a---b|').pipe(alongside(cold('--#', undefined, new Error('lease')), (error) => errors.push(error))),
    ).toBe('-a---b|');
  });
  assert.is(errors.length, 1);
});

test.run();
