import type { Logger } from 'pino';
import { concatMap, from, map, type OperatorFunction } from 'rxjs';
import { FILE_ERROR_TYPE } from '../domain/errors.js';
import { type FileScore, fileNameOf, wallSecondsOf } from '../domain/file-run.js';
import type { HubApi } from '../ports/hub-api.js';
import { type LedgerSession, LedgerWriteError } from './ledger-session.js';

/**
 * One Hub call of a file's report, in its own try. These reports are advisory, as the Hub treats them, so a refusal
 * is logged and fails neither the job nor the calls after it (a record of the ledger that cannot be written does: it
 * is not the Hub's refusal).
 */
async function tryHubCall(what: string, call: () => Promise<void>, log: Logger): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (error instanceof LedgerWriteError) throw error;
    log.warn({ err: error }, `${what} to the Hub failed`);
  }
}

/**
 * Tells the Hub about each finished file, in order: for a failed one a non-breaking error, then for every file the
 * progress increment with its wall time (the function's own runtime is the scored metric, not the Hub's ETA).
 * The error report those errors are appended to is made at the job's first failed file, not before: the Hub's front
 * end shows a submission's first report, and a blank one made at start would hide the code of a job that fails
 * before any file error. Every call goes through the job's ledger, so one the Hub applied in an earlier attempt (a
 * resumed job) is not sent again; the report is made once per job, and tried again at the next failed file if the
 * Hub refused it. Passes the scores through once reported.
 */
export function reportFileProgress(
  hub: HubApi,
  ledger: LedgerSession,
  submissionId: number,
  log: Logger,
): OperatorFunction<FileScore, FileScore> {
  const report = async (score: FileScore) => {
    const fileName = fileNameOf(score);
    if (score.kind === 'failed') {
      await tryHubCall(
        'the error report',
        () => ledger.jobCallOnce('error-report', () => hub.createBlankErrorReport(submissionId)),
        log,
      );
      const error = {
        error_code: score.failure.code,
        error_type: FILE_ERROR_TYPE,
        error_message: score.failure.message,
        file_name: fileName,
      };
      await tryHubCall(
        'a file error',
        () => ledger.fileCallOnce(fileName, 'file-error', () => hub.reportFileError(submissionId, error)),
        log,
      );
    }
    await tryHubCall(
      'the progress',
      () => ledger.fileCallOnce(fileName, 'progress', () => hub.progressIncrement(submissionId, wallSecondsOf(score))),
      log,
    );
  };
  return concatMap((score) => from(report(score)).pipe(map(() => score)));
}
