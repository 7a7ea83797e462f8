import { type MonoTypeOperatorFunction, retry, throwError, timer } from 'rxjs';
import type { Logger } from 'pino';
import { InfrastructureFault } from '../domain/infrastructure-fault.js';

/** Tries of one file in all, each in a fresh container, while faults of ours end them. */
export const FILE_TRIES = 3;
const RETRY_DELAY_MS = 500;

/**
 * Runs the source again, after a growing pause, when it failed on a fault of the worker's own infrastructure (its
 * container vanished, the host ran out of memory, the engine did not answer), at most `tries` times in all. The
 * last fault, and any other error, go on: the job then fails as ours and retryable, for another worker.
 *
 * ```
 * source:   -#(fault)  -#(fault)  -a|
 * result:   ----------------------a|     (a pause before each new try)
 * ```
 */
export function retryInfrastructureFaults<T>(
  log: Logger,
  tries = FILE_TRIES,
  delayMs = RETRY_DELAY_MS,
): MonoTypeOperatorFunction<T> {
  return retry({
    count: tries - 1,
    delay: (error: unknown, attempt: number) => {
      if (!(error instanceof InfrastructureFault)) return throwError(() => error);
      log.warn({ kind: error.kind, attempt, of: tries }, `${error.message}; the file runs again in a fresh container`);
      return timer(delayMs * attempt);
    },
  });
}
