import type { Logger } from 'pino';
import { asWorkerError, errorTypeOf, type WorkerError } from '../domain/errors.js';
import { plainText } from '../domain/plain-text.js';
import type { HubApi } from '../ports/hub-api.js';
import type { LedgerSession } from './ledger-session.js';

/**
 * Status failed, then the breaking error report, each once per job when the job's ledger is given (a message
 * refused before any job has none). Resolves whether the Hub has the final word: it accepted the status, or refused
 * it for good (a 4xx is the same on every try); false when it could not be reached.
 */
export async function reportFailure(
  hub: HubApi,
  submissionId: number,
  error: WorkerError,
  log: Logger,
  ledger?: LedgerSession,
): Promise<boolean> {
  const once = (call: 'status-failed' | 'breaking-error', send: () => Promise<void>) =>
    ledger ? ledger.jobCallOnce(call, send) : send();
  let told = true;
  try {
    await once('status-failed', () => hub.setStatus(submissionId, 'failed'));
  } catch (statusError) {
    told = !asWorkerError(statusError, 'wr_5').retryable;
    log.error({ err: statusError }, 'could not set status failed');
  }
  try {
    await once('breaking-error', () =>
      hub.reportBreakingError(submissionId, {
        error_code: error.code,
        error_type: errorTypeOf(error.code),
        error_message: plainText(error.message),
      }),
    );
  } catch (reportError) {
    log.error({ err: reportError }, 'could not send the error report');
  }
  return told;
}
