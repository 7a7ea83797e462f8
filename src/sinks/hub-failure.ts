import type { Logger } from 'pino';
import { asWorkerError, errorTypeOf, type WorkerError } from '../domain/errors.js';
import type { HubApi } from '../ports/hub-api.js';

/**
 * Status failed, then the breaking error report. Resolves whether the Hub has the final word: it accepted the status,
 * or refused it for good (a 4xx is the same on every try); false when it could not be reached.
 */
export async function reportFailure(
  hub: HubApi,
  submissionId: number,
  error: WorkerError,
  log: Logger,
): Promise<boolean> {
  let told = true;
  try {
    await hub.setStatus(submissionId, 'failed');
  } catch (statusError) {
    told = !asWorkerError(statusError, 'wr_5').retryable;
    log.error({ err: statusError }, 'could not set status failed');
  }
  try {
    await hub.reportBreakingError(submissionId, {
      error_code: error.code,
      error_type: errorTypeOf(error.code),
      error_message: error.message,
    });
  } catch (reportError) {
    log.error({ err: reportError }, 'could not send the error report');
  }
  return told;
}
