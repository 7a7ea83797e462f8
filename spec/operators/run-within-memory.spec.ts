import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concat, defer, type Observable, of, Subject, throwError } from 'rxjs';
import { marbleScheduler } from '../helpers/marbles.js';
import { runWithinMemory } from '../../src/operators/run-within-memory.js';

const GIB = 1024 ** 3;

test('runs as many at once as the capacity holds, the rest as runs end', () => {
  marbleScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    const source = hot('-a-b-c-|');
    const inner = { a: cold('--x|', { x: 'a' }), b: cold('--x|', { x: 'b' }), c: cold('--x|', { x: 'c' }) };
    const result = source.pipe(
      runWithinMemory((item: string) => inner[item as 'a' | 'b' | 'c'], {
        costOf: () => 4 * GIB,
        freeMemory: () => 8 * GIB,
        maxConcurrent: 10,
      }),
    );
    expectObservable(result).toBe('---a-b-c|');
    expectSubscriptions(inner.c.subscriptions).toBe('-----^--!');
  });
});

test('one run always goes even when the budget is smaller than its reservation', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    const result = cold('(ab|)').pipe(
      runWithinMemory((item: string) => cold('-x|', { x: item }), {
        costOf: () => 8 * GIB,
        freeMemory: () => 1 * GIB,
        maxConcurrent: 4,
      }),
    );
    expectObservable(result).toBe('-a-b|');
  });
});

test('maxConcurrent bounds the runs whatever the memory', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    const result = cold('(abc|)').pipe(
      runWithinMemory((item: string) => cold('----x|', { x: item }), {
        costOf: () => 1,
        freeMemory: () => 100,
        maxConcurrent: 2,
      }),
    );
    expectObservable(result).toBe('----(ab)-c|');
  });
});

test('memory taken by others since the start holds new runs back', () => {
  let free = 8 * GIB;
  const started: string[] = [];
  const gates = new Map<string, Subject<string>>();
  const run = (item: string): Observable<string> =>
    defer(() => {
      started.push(item);
      const gate = new Subject<string>();
      gates.set(item, gate);
      return gate;
    });
  const results: string[] = [];
  of('a', 'b', 'c')
    .pipe(runWithinMemory(run, { costOf: () => 2 * GIB, freeMemory: () => free, maxConcurrent: 10 }))
    .subscribe((value) => results.push(value));
  assert.equal(started, ['a', 'b', 'c']);
  free = 1 * GIB;
  const more: string[] = [];
  of('d', 'e')
    .pipe(runWithinMemory(run, { costOf: () => 2 * GIB, freeMemory: () => free, maxConcurrent: 10 }))
    .subscribe((value) => more.push(value));
  assert.equal(started, ['a', 'b', 'c', 'd'], 'd goes alone; e waits for memory');
  gates.get('d')?.next('d');
  gates.get('d')?.complete();
  assert.equal(started, ['a', 'b', 'c', 'd', 'e']);
});

test('an error of one run ends the stream and unsubscribes the others', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const slow = cold('-----x|');
    const result = cold('(ab|)').pipe(
      runWithinMemory(
        (item: string) =>
          item === 'a'
            ? slow
            : concat(
                cold('--|'),
                throwError(() => new Error('boom')),
              ),
        {
          costOf: () => 1,
          freeMemory: () => 10,
          maxConcurrent: 2,
        },
      ),
    );
    expectObservable(result).toBe('--#', undefined, new Error('boom'));
    expectSubscriptions(slow.subscriptions).toBe('^-!');
  });
});

test('unsubscribing stops the runs and drops what waits', () => {
  marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const inner = cold('----x|');
    const result = cold('(ab|)').pipe(
      runWithinMemory(() => inner, { costOf: () => 1, freeMemory: () => 1, maxConcurrent: 1 }),
    );
    expectObservable(result, '--!').toBe('--');
    expectSubscriptions(inner.subscriptions).toBe('^-!');
  });
});

test('completes at once on an empty source', () => {
  marbleScheduler().run(({ cold, expectObservable }) => {
    const result = cold<string>('|').pipe(
      runWithinMemory((item: string) => of(item), { costOf: () => 1, freeMemory: () => 1, maxConcurrent: 1 }),
    );
    expectObservable(result).toBe('|');
  });
});

test.run();
