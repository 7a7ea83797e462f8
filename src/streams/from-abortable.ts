import { Observable } from 'rxjs';

/**
 * A cold Observable of one async step that takes an AbortSignal: subscribing starts it, its value is emitted and the
 * stream completes, its rejection is the stream's error, and unsubscribing before it settled aborts the signal (so
 * the step stops its processes and containers instead of running on unobserved).
 */
export function fromAbortable<T>(start: (signal: AbortSignal) => Promise<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const abort = new AbortController();
    let settled = false;
    start(abort.signal).then(
      (value) => {
        settled = true;
        subscriber.next(value);
        subscriber.complete();
      },
      (error: unknown) => {
        settled = true;
        subscriber.error(error);
      },
    );
    return () => {
      if (!settled) abort.abort();
    };
  });
}
