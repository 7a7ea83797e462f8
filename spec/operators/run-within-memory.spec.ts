import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concat, defer, type Observable, of, Subject, tap, throwError } from 'rxjs';
import { marbleScheduler } from '../helpers/marbles.js';
import { runWithinMemory, type Turn } from '../../src/operators/run-within-memory.js';

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

/** Runs whose turns a spec drives: each records its subscription, its go, and ends when told. */
function controlledRuns() {
  const subscribed: string[] = [];
  const went: string[] = [];
  const turns = new Map<string, Turn>();
  const ends = new Map<string, Subject<string>>();
  const unsubscribed: string[] = [];
  const project = (item: string, _index: number, turn: Turn): Observable<string> =>
    defer(() => {
      subscribed.push(item);
      turns.set(item, turn);
      void turn.go.then(() => went.push(item));
      const end = new Subject<string>();
      ends.set(item, end);
      return end.pipe(tap({ unsubscribe: () => unsubscribed.push(item) }));
    });
  const end = (item: string) => {
    ends.get(item)?.next(item);
    ends.get(item)?.complete();
  };
  return { project, subscribed, went, turns, end, unsubscribed };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('runs start ahead of their turn within the budget, and get it oldest first as the running ones are done', async () => {
  const runs = controlledRuns();
  const results: string[] = [];
  of('a', 'b', 'c', 'd', 'e')
    .pipe(runWithinMemory(runs.project, { costOf: () => 1, freeMemory: () => 10, maxConcurrent: 2, ahead: 2 }))
    .subscribe((value) => results.push(value));
  await settle();
  assert.equal(runs.subscribed, ['a', 'b', 'c', 'd'], 'two running, two ahead');
  assert.equal(runs.went, ['a', 'b']);
  runs.turns.get('b')?.done();
  await settle();
  assert.equal(runs.went, ['a', 'b', 'c'], 'b done: the oldest ahead gets its turn before b completes');
  assert.equal(runs.subscribed, ['a', 'b', 'c', 'd', 'e'], 'and another starts ahead');
  runs.end('a');
  await settle();
  assert.equal(runs.went, ['a', 'b', 'c', 'd']);
  for (const item of ['b', 'c', 'd']) runs.end(item);
  await settle();
  assert.equal(runs.went, ['a', 'b', 'c', 'd', 'e']);
  runs.end('e');
  assert.equal(results, ['a', 'b', 'c', 'd', 'e']);
});

test('a run started ahead holds its reservation: none starts ahead beyond the budget, even as the one run', async () => {
  const runs = controlledRuns();
  of('a', 'b', 'c')
    .pipe(runWithinMemory(runs.project, { costOf: () => 4, freeMemory: () => 8, maxConcurrent: 1, ahead: 2 }))
    .subscribe();
  await settle();
  assert.equal(runs.subscribed, ['a', 'b'], 'one running, one ahead: the budget holds two');
  runs.turns.get('a')?.done();
  await settle();
  assert.equal(runs.went, ['a', 'b']);
  assert.equal(runs.subscribed, ['a', 'b'], 'a done but not completed still holds its reservation: c waits');
  runs.end('a');
  await settle();
  assert.equal(runs.subscribed, ['a', 'b', 'c']);

  const small = controlledRuns();
  of('a', 'b')
    .pipe(runWithinMemory(small.project, { costOf: () => 8, freeMemory: () => 1, maxConcurrent: 2, ahead: 2 }))
    .subscribe();
  await settle();
  assert.equal(small.subscribed, ['a'], 'the one run goes over the budget; nothing goes ahead of it');
});

test('unsubscribing stops the runs started ahead too, and they never get their turn', async () => {
  const runs = controlledRuns();
  const subscription = of('a', 'b', 'c')
    .pipe(runWithinMemory(runs.project, { costOf: () => 1, freeMemory: () => 10, maxConcurrent: 1, ahead: 2 }))
    .subscribe();
  await settle();
  assert.equal(runs.subscribed, ['a', 'b', 'c']);
  subscription.unsubscribe();
  runs.turns.get('a')?.done();
  await settle();
  assert.equal(runs.unsubscribed, ['a', 'b', 'c']);
  assert.equal(runs.went, ['a']);
});

test.run();
