import { test } from 'uvu';
import { afterEvent } from '../../src/operators/after-event.js';
import { marbleScheduler } from '../helpers/marbles.js';

type Event = { readonly type: 'staged' | 'image' | 'file' };
const E: Record<string, Event> = { s: { type: 'staged' }, i: { type: 'image' }, f: { type: 'file' } };

test('after an event of the type, the next step runs; other events pass untouched', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const next = cold('--i-f|', E);
    const source = cold('-s|', E);
    expectObservable(source.pipe(afterEvent('staged', () => next))).toBe('-s-i-f|', E);
    expectSubscriptions(next.subscriptions).toBe('-^----!');
  });
});

test('no event of the type: the next step never starts', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const next = cold('--i|', E);
    expectObservable(cold('-f-f|', E).pipe(afterEvent('staged', () => next))).toBe('-f-f|', E);
    expectSubscriptions(next.subscriptions).toBe([]);
  });
});

test("the next step's error is the stream's; unsubscribing stops the step under way", () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('-s|', E).pipe(afterEvent('staged', () => cold('--#')))).toBe('-s-#', E);
  });
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const next = cold('-----i|', E);
    expectObservable(cold('-s|', E).pipe(afterEvent('staged', () => next)), '---!').toBe('-s-', E);
    expectSubscriptions(next.subscriptions).toBe('-^-!');
  });
});

test.run();
