import { type MonoTypeOperatorFunction, Observable } from 'rxjs';

/**
 * Keeps `side` subscribed exactly as long as the source runs: it starts with the source and is unsubscribed when the
 * source completes, errors or is unsubscribed. Its values are dropped; its error goes to `onSideError` (a failed
 * heartbeat is worth a log line, not the end of the job).
 *
 * ```
 * source:  -a--b--|
 * side:    ^------!      (whatever it emits)
 * result:  -a--b--|
 * ```
 */
export function alongside<T>(
  side: Observable<unknown>,
  onSideError: (error: unknown) => void,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const sideSubscription = side.subscribe({ error: onSideError });
      const subscription = source.subscribe(subscriber);
      return () => {
        sideSubscription.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
