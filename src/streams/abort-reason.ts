import { defer, fromEvent, map, type Observable, of, take } from 'rxjs';

/** The reason of an abort, once: at once when the signal is aborted already, else when it fires. */
export function abortReason(signal: AbortSignal): Observable<string> {
  return defer(() =>
    signal.aborted
      ? of(String(signal.reason))
      : fromEvent(signal, 'abort').pipe(
          take(1),
          map(() => String(signal.reason)),
        ),
  );
}
