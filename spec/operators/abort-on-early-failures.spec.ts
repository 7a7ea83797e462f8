import { test } from 'uvu';
import { WorkerError } from '../../src/domain/errors.js';
import { abortOnEarlyFailures } from '../../src/operators/abort-on-early-failures.js';
import { marbleScheduler } from '../helpers/marbles.js';

const failing = (value: string) => value.startsWith('f');
const describe = (values: string[]) => `last: ${values[values.length - 1]}`;

test('stops with op_7 when the first results all fail', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-f-g-o-|', { f: 'f1', g: 'f2', o: 'ok' });
    expectObservable(source.pipe(abortOnEarlyFailures(2, failing, describe))).toBe(
      '-f-(g#)',
      { f: 'f1', g: 'f2' },
      new WorkerError('op_7', 'the first 2 files all failed; last: f2'),
    );
    expectSubscriptions(source.subscriptions).toBe('^--!');
  });
});

test('one success among the first results: later failures never stop the job', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    const values = { f: 'f1', o: 'ok', g: 'f2', h: 'f3' };
    expectObservable(cold('-f-o-g-h-|', values).pipe(abortOnEarlyFailures(2, failing, describe))).toBe(
      '-f-o-g-h-|',
      values,
    );
  });
});

test('fewer files than the cutoff never abort', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    const values = { f: 'f1', g: 'f2' };
    expectObservable(cold('-f-g-|', values).pipe(abortOnEarlyFailures(3, failing, describe))).toBe('-f-g-|', values);
  });
});

test('a cutoff of 0 turns the rule off', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    const values = { f: 'f1' };
    expectObservable(cold('-f-|', values).pipe(abortOnEarlyFailures(0, failing, describe))).toBe('-f-|', values);
  });
});

test('errors from upstream pass through', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('-#', undefined, new Error('x')).pipe(abortOnEarlyFailures(1, failing, describe))).toBe(
      '-#',
      undefined,
      new Error('x'),
    );
  });
});

test.run();
