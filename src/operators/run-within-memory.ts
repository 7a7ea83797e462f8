import { Observable, type OperatorFunction, type Subscription } from 'rxjs';

export interface MemoryBudgetOptions<T> {
  /** Bytes a run of this item reserves (its container's memory limit). */
  readonly costOf: (item: T) => number;
  /** Bytes free for new runs right now; asked again each time a run could start. */
  readonly freeMemory: () => number;
  /** Never more runs than this at once, whatever the memory allows. */
  readonly maxConcurrent: number;
}

/**
 * Like mergeMap, but the number of inner runs is set by memory instead of a fixed count. The capacity is what was
 * free at subscription; an item starts when its reservation fits within the capacity left by the running ones and
 * within what is free now (other processes may have taken memory since). One run always goes, even when the
 * budget is smaller than a reservation, so a worker on a small machine is slow rather than stuck.
 * Re-checked whenever an item arrives or a run ends.
 *
 * ```
 * source:    -a-b-c-|            (each costs 4, capacity 8)
 * project:   x => --x|
 * result:    ---a-b-c|          a and b together, c once a is done
 * ```
 */
export function runWithinMemory<T, R>(
  project: (item: T, index: number) => Observable<R>,
  options: MemoryBudgetOptions<T>,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const capacity = options.freeMemory();
      // A queue read from `head`: shift() copies the whole array once it is large (a job's thousands of files).
      let waiting: Array<T | undefined> = [];
      let head = 0;
      const running = new Set<Subscription>();
      let reserved = 0;
      let index = 0;
      let sourceDone = false;

      const fits = (cost: number) =>
        running.size === 0 ||
        (running.size < options.maxConcurrent && reserved + cost <= capacity && cost <= options.freeMemory());

      const finishIfDone = () => {
        if (sourceDone && head === waiting.length && running.size === 0) subscriber.complete();
      };

      const startWaiting = () => {
        while (head < waiting.length && !subscriber.closed) {
          const item = waiting[head] as T;
          const cost = options.costOf(item);
          if (!fits(cost)) return;
          waiting[head] = undefined;
          head += 1;
          if (head === waiting.length) {
            waiting = [];
            head = 0;
          }
          reserved += cost;
          // The inner may settle synchronously, inside subscribe(), before its Subscription exists.
          const slot: { subscription?: Subscription; done: boolean } = { done: false };
          const release = () => {
            slot.done = true;
            reserved -= cost;
            if (slot.subscription) running.delete(slot.subscription);
          };
          slot.subscription = project(item, index++).subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => {
              release();
              subscriber.error(error);
            },
            complete: () => {
              release();
              startWaiting();
              finishIfDone();
            },
          });
          if (!slot.done) running.add(slot.subscription);
        }
      };

      const upstream = source.subscribe({
        next: (item) => {
          waiting.push(item);
          startWaiting();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          finishIfDone();
        },
      });

      return () => {
        upstream.unsubscribe();
        for (const inner of running) inner.unsubscribe();
        running.clear();
        waiting = [];
        head = 0;
      };
    });
}
