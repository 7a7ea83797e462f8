import { concatWith, defer, EMPTY, type Observable, of, type OperatorFunction, take, takeUntil, tap } from 'rxjs';

/**
 * Stops the source from outside: when `stop$` first emits, the source is unsubscribed (which aborts the work it has
 * under way), the value of `stop$` is emitted as the last value, and the stream completes. A source that completes
 * or errors first is not touched.
 *
 * ```
 * source:  -a-b-c-d-|
 * stop$:   -----x
 * result:  -a-b-(x|)
 * ```
 */
export function cutBy<T, S>(stop$: Observable<S>): OperatorFunction<T, T | S> {
  return (source) =>
    defer(() => {
      let stopped: { readonly value: S } | undefined;
      const stop = stop$.pipe(
        take(1),
        tap((value) => (stopped = { value })),
      );
      return source.pipe(takeUntil(stop), concatWith(defer(() => (stopped === undefined ? EMPTY : of(stopped.value)))));
    });
}
