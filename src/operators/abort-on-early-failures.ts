import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import { WorkerError } from '../domain/errors.js';

/**
 * The Hub's failure cutoff (contract §6): when the first `count` results to arrive are all failures, the job stops
 * with op_7 instead of running every other file to the same end. With fewer files than `count`, or count 0, it never
 * triggers. Results pass through unchanged.
 *
 * ```
 * count 2:   -f-f----   →   -f-(f#)      op_7 after the second failure
 *            -f-o-f--   →   -f-o-f--     a success among the first two: never
 * ```
 */
export function abortOnEarlyFailures<T>(
  count: number,
  isFailure: (value: T) => boolean,
  describe: (failures: T[]) => string,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const firsts: T[] = [];
      let decided = count <= 0;
      return source.subscribe({
        next: (value) => {
          subscriber.next(value);
          if (decided) return;
          if (!isFailure(value)) {
            decided = true;
            return;
          }
          firsts.push(value);
          if (firsts.length === count) {
            decided = true;
            subscriber.error(new WorkerError('op_7', `the first ${count} files all failed; ${describe(firsts)}`));
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}
