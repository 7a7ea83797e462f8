import { test } from 'uvu';
import { cutBy } from '../../src/operators/cut-by.js';
import { marbleScheduler } from '../helpers/marbles.js';

test('a stop cuts the source and is its last value', () => {
  marbleScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c-d-|');
    expectObservable(source.pipe(cutBy(hot('-----x')))).toBe('-a-b-(x|)');
    expectSubscriptions(source.subscriptions).toBe('^----!');
  });
});

test('a source that ends first is not touched, and no stop value follows', () => {
  marbleScheduler().run(({ cold, hot, expectObservable }) => {
    expectObservable(cold('-a-|').pipe(cutBy(hot('-----x')))).toBe('-a-|');
    expectObservable(cold('-a-#').pipe(cutBy(hot('-----x')))).toBe('-a-#');
  });
});

test('a stop already given ends the stream at once', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-|');
    expectObservable(source.pipe(cutBy(cold('x')))).toBe('(x|)');
    expectSubscriptions(source.subscriptions).toBe('(^!)');
  });
});

test.run();
