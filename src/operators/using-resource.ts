import { Observable, type Subscription, take } from 'rxjs';

/**
 * A resource held for one subscription: `open$` makes it, `use` works with it, and `close` releases it exactly once,
 * however the use ends. After completion or an error the close runs first, and the completion or error is passed
 * on only once it is done, so a subscriber that sees the end knows the resource is gone. On unsubscribe the close
 * is started and runs to its end unobserved; a resource still opening then is closed as soon as it exists. An error
 * of the close is passed on after a completion, and dropped after an error (the use's own error says more).
 *
 * ```
 * open$:    -r|
 * use(r):    --a--b|
 * close(r):         --|
 * result:   ---a--b--|
 * ```
 */
export function usingResource<R, T>(
  open$: Observable<R>,
  use: (resource: R) => Observable<T>,
  close: (resource: R) => Observable<unknown>,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    let opened: { readonly value: R } | undefined;
    let closing = false;
    let unsubscribed = false;
    let usage: Subscription | undefined;

    const closeOnce = (end: (closeError?: unknown) => void) => {
      if (opened === undefined || closing) return end();
      closing = true;
      close(opened.value).subscribe({ error: (error: unknown) => end(error), complete: () => end() });
    };

    open$.pipe(take(1)).subscribe({
      next: (value) => {
        opened = { value };
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        if (opened === undefined) return subscriber.complete();
        if (unsubscribed) return closeOnce(() => undefined);
        usage = use(opened.value).subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => closeOnce(() => subscriber.error(error)),
          complete: () =>
            closeOnce((closeError) =>
              closeError === undefined ? subscriber.complete() : subscriber.error(closeError),
            ),
        });
      },
    });

    return () => {
      unsubscribed = true;
      usage?.unsubscribe();
      closeOnce(() => undefined);
    };
  });
}
