import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { usingResource } from '../../src/operators/using-resource.js';
import { marbleScheduler } from '../helpers/marbles.js';

test('opened, used, then closed; the completion waits for the close', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const close = cold('--|');
    const use = cold('--a--b|');
    expectObservable(
      usingResource(
        cold('-r|'),
        () => use,
        () => close,
      ),
    ).toBe('---a--b--|');
    expectSubscriptions(use.subscriptions).toBe('-^-----!');
    expectSubscriptions(close.subscriptions).toBe('-------^-!');
  });
});

test("an error of the use is passed on after the close; the close's own error after a completion", () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    expectObservable(
      usingResource(
        cold('r|'),
        () => cold('-a-#'),
        () => cold('--|'),
      ),
    ).toBe('-a---#');
    expectObservable(
      usingResource(
        cold('r|'),
        () => cold('-a-#', undefined, new Error('use')),
        () => cold('-#', undefined, new Error('close')),
      ),
    ).toBe('-a--#', undefined, new Error('use'));
    expectObservable(
      usingResource(
        cold('r|'),
        () => cold('-a|'),
        () => cold('-#', undefined, new Error('close')),
      ),
    ).toBe('-a-#', undefined, new Error('close'));
  });
});

test('unsubscribing stops the use and starts the close, which runs to its end', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const close = cold('----|');
    const use = cold('-a-b-c-d|');
    expectObservable(
      usingResource(
        cold('r|'),
        () => use,
        () => close,
      ),
      '----!',
    ).toBe('-a-b');
    expectSubscriptions(use.subscriptions).toBe('^---!');
    expectSubscriptions(close.subscriptions).toBe('----^---!');
  });
});

test('unsubscribed while opening: the resource is closed once it exists, and never used', () => {
  const used: string[] = [];
  const closed: string[] = [];
  marbleScheduler().run(({ cold, expectObservable, flush }) => {
    const opened = usingResource(
      cold('---r|', { r: 'r' }),
      (resource) => {
        used.push(resource);
        return cold('a|');
      },
      (resource) => {
        closed.push(resource);
        return cold('|');
      },
    );
    expectObservable(opened, '-!').toBe('');
    flush();
  });
  assert.equal(used, []);
  assert.equal(closed, ['r']);
});

test.run();
