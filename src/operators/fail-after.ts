import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';

/**
 * Errors with `error()` when the source has not completed within `ms`, unsubscribing it (which stops its work).
 * Unlike `timeout`, the clock covers the whole stream, not the gap between values.
 *
 * ```
 * ms 4:   -a-b-c-|   →   -a-b#
 * ```
 */
export function failAfter<T>(
  ms: number,
  error: () => Error,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const timer = scheduler.schedule(() => subscriber.error(error()), ms);
      const subscription = source.subscribe(subscriber);
      return () => {
        timer.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
