import { catchError, defer, from, map, type MonoTypeOperatorFunction, of, tap } from 'rxjs';
import type { Logger } from 'pino';
import { asWorkerError, type WorkerError } from '../domain/errors.js';
import type { JobEvent } from '../domain/job-event.js';
import type { HubApi } from '../ports/hub-api.js';
import { reportFailure } from '../sinks/hub-failure.js';

/**
 * Turns the error that ends a job into its last event, `failed`. The Hub is told (status failed, the error report),
 * unless `retryLater` says another worker should try and no file was reported yet: once the Hub has a file's progress
 * or error, another try would send them twice (and double the error rate). Without `retryLater` every failure is
 * reported (a local evaluation has no second try).
 *
 * ```
 * source:  -s-i-#          (s staged, i image)
 * result:  -s-i-(f|)       f: failed, after the Hub was told
 * ```
 */
export function failJob(
  hub: HubApi,
  submissionId: number,
  log: Logger,
  retryLater?: (error: WorkerError) => boolean,
): MonoTypeOperatorFunction<JobEvent> {
  return (source) =>
    defer(() => {
      let fileReported = false;
      return source.pipe(
        tap((event) => {
          if (event.type === 'file') fileReported = true;
        }),
        catchError((error: unknown) => {
          const failure = asWorkerError(error);
          log.error({ code: failure.code, err: failure.cause ?? failure }, failure.message);
          if (!fileReported && retryLater?.(failure) === true) {
            log.warn({ code: failure.code }, 'the job goes back to the queue for another try; the Hub is not told');
            return of<JobEvent>({ type: 'failed', error: failure, retry: true, told: false });
          }
          return from(reportFailure(hub, submissionId, failure, log)).pipe(
            map((told): JobEvent => ({ type: 'failed', error: failure, retry: false, told })),
          );
        }),
      );
    });
}
