import { Observable, type OperatorFunction, type Subscription } from 'rxjs';

export interface MemoryBudgetOptions<T> {
  /** Bytes a run of this item reserves (its container's memory limit). */
  readonly costOf: (item: T) => number;
  /** Bytes free for new runs right now; asked again each time a run could start. */
  readonly freeMemory: () => number;
  /** Never more runs than this at once, whatever the memory allows. */
  readonly maxConcurrent: number;
  /** Runs that may be started ahead of their turn, when their reservation fits; default none. */
  readonly ahead?: number;
}

/**
 * A run's turn. `go` resolves when it may run: until then it was started ahead (it prepares, holding its reservation,
 * not a slot). `done()` hands its slot to the next run before it completes (its container ended; what is left is
 * collecting and scoring); its reservation is held until it completes.
 */
export interface Turn {
  readonly go: Promise<void>;
  readonly done: () => void;
}

interface Slot {
  readonly cost: number;
  state: 'ahead' | 'running' | 'done';
  give: () => void;
  subscription?: Subscription;
}

/**
 * Like mergeMap, but the number of inner runs is set by memory instead of a fixed count. The capacity is what was
 * free at subscription; an item starts when its reservation fits within the capacity left by the others and within
 * what is free now (other processes may have taken memory since). One run always goes, even when the budget is
 * smaller than a reservation, so a worker on a small machine is slow rather than stuck.
 *
 * Up to `ahead` more items are started ahead of their turn, only within the budget, never as that one run: each gets
 * its turn, oldest first, when a running one is done. Re-checked whenever an item arrives, a run is done or ends.
 *
 * ```
 * source:    -a-b-c-|            (each costs 4, capacity 8, no ahead)
 * project:   x => --x|
 * result:    ---a-b-c|          a and b together, c once a is done
 * ```
 */
export function runWithinMemory<T, R>(
  project: (item: T, index: number, turn: Turn) => Observable<R>,
  options: MemoryBudgetOptions<T>,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const capacity = options.freeMemory();
      const ahead = options.ahead ?? 0;
      // A queue read from `head`: shift() copies the whole array once it is large (a job's thousands of files).
      let waiting: Array<T | undefined> = [];
      let head = 0;
      const queued = () => waiting.length - head;
      const nextWaiting = () => waiting[head] as T;
      const takeWaiting = (): T => {
        const item = nextWaiting();
        waiting[head] = undefined;
        head += 1;
        if (head === waiting.length) {
          waiting = [];
          head = 0;
        }
        return item;
      };
      const inFlight = new Set<Slot>();
      let reserved = 0;
      let index = 0;
      let sourceDone = false;

      const count = (state: Slot['state']) => [...inFlight].filter((slot) => slot.state === state).length;
      const withinBudget = (cost: number) => reserved + cost <= capacity && cost <= options.freeMemory();

      const finishIfDone = () => {
        if (sourceDone && queued() === 0 && inFlight.size === 0) subscriber.complete();
      };

      const start = (state: 'ahead' | 'running') => {
        const item = takeWaiting();
        const cost = options.costOf(item);
        reserved += cost;
        let give!: () => void;
        const go = new Promise<void>((resolve) => (give = resolve));
        const slot: Slot = { cost, state, give };
        if (state === 'running') give();
        inFlight.add(slot);
        const done = () => {
          if (slot.state === 'done') return;
          slot.state = 'done';
          schedule();
        };
        const release = () => {
          reserved -= cost;
          slot.state = 'done';
          inFlight.delete(slot);
        };
        slot.subscription = project(item, index++, { go, done }).subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            release();
            subscriber.error(error);
          },
          complete: () => {
            release();
            schedule();
            finishIfDone();
          },
        });
      };

      const schedule = () => {
        while (!subscriber.closed && count('running') < options.maxConcurrent) {
          const next = [...inFlight].find((slot) => slot.state === 'ahead');
          if (next !== undefined) {
            next.state = 'running';
            next.give();
          } else if (queued() > 0 && (inFlight.size === 0 || withinBudget(options.costOf(nextWaiting())))) {
            start('running');
          } else break;
        }
        while (
          !subscriber.closed &&
          count('ahead') < ahead &&
          queued() > 0 &&
          withinBudget(options.costOf(nextWaiting()))
        )
          start('ahead');
      };

      const upstream = source.subscribe({
        next: (item) => {
          waiting.push(item);
          schedule();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          finishIfDone();
        },
      });

      return () => {
        upstream.unsubscribe();
        for (const slot of inFlight) slot.subscription?.unsubscribe();
        inFlight.clear();
        waiting = [];
        head = 0;
      };
    });
}
