import { catchError, from, map, type MonoTypeOperatorFunction, of } from 'rxjs';
import type { Logger } from 'pino';
import { asWorkerError, type WorkerError } from '../domain/errors.js';
import type { JobEvent } from '../domain/job-event.js';
import { plainText } from '../domain/plain-text.js';
import type { HubApi } from '../ports/hub-api.js';
import { reportFailure } from '../sinks/hub-failure.js';
import type { LedgerSession } from '../sinks/ledger-session.js';

/**
 * Turns the error that ends a job into its last event, `failed`. The Hub is told (status failed, the error report,
 * each once per job through its ledger), unless `retryLater` says another worker should try: the job then goes back
 * to the queue untold, and the next attempt resumes from the ledger (the files scored are not run again, no Hub call
 * is sent twice). Without `retryLater` every failure is reported (a local evaluation has no second try).
 *
 * ```
 * source:  -s-i-#          (s staged, i image)
 * result:  -s-i-(f|)       f: failed, after the Hub was told
 * ```
 */
export function failJob(
  hub: HubApi,
  ledger: LedgerSession,
  submissionId: number,
  log: Logger,
  retryLater?: (error: WorkerError) => boolean,
): MonoTypeOperatorFunction<JobEvent> {
  return catchError((error: unknown) => {
    const failure = asWorkerError(error);
    log.error({ code: failure.code, err: failure.cause ?? failure }, plainText(failure.message));
    if (retryLater?.(failure) === true) {
      log.warn({ code: failure.code }, 'the job goes back to the queue for another try; the Hub is not told');
      return of<JobEvent>({ type: 'failed', error: failure, retry: true, told: false });
    }
    return from(reportFailure(hub, submissionId, failure, log, ledger)).pipe(
      map((told): JobEvent => ({ type: 'failed', error: failure, retry: false, told })),
    );
  });
}
