import type { Logger } from 'pino';
import { concatMap, from, map, type OperatorFunction } from 'rxjs';
import { FILE_ERROR_TYPE } from '../domain/errors.js';
import { type FileScore, fileNameOf, wallSecondsOf } from '../domain/file-run.js';
import { answerWasLost } from '../domain/retry.js';
import { type HubApi, NoErrorReportError, type NonBreakingError } from '../ports/hub-api.js';
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
    if (answerWasLost(error))
      log.warn({ err: error }, `${what}: the Hub's answer was lost; counted as applied, so it is never sent twice`);
    else log.warn({ err: error }, `${what} to the Hub failed`);
  }
}

/**
 * How long a report whose creation went unanswered may still take to land: a request the Hub's client gave up on
 * can reach the Hub after that, and a report made again in that time would be a second one.
 */
export const REPORT_LANDING_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether the Hub refused `append` for want of an error report; any other failure goes on. */
async function refusedForWantOfReport(append: () => Promise<void>): Promise<boolean> {
  try {
    await append();
    return false;
  } catch (refusal) {
    if (refusal instanceof NoErrorReportError) return true;
    throw refusal;
  }
}

/**
 * A file error, appended to the submission's report. Should the Hub have none, the report is made (again) first: the
 * Hub's refusal proves there is none. When the ledger says it was made, its creation's answer was lost and it may
 * still be on its way, so the error is tried once more after that time; a report made while one is landing would be
 * a second one, and the front end shows a submission's first.
 */
async function appendFileError(
  hub: HubApi,
  ledger: LedgerSession,
  submissionId: number,
  error: NonBreakingError,
  landingMs: number,
  log: Logger,
): Promise<void> {
  const append = () => hub.reportFileError(submissionId, error);
  if (!(await refusedForWantOfReport(append))) return;
  if (ledger.hasApplied('error-report')) {
    await sleep(landingMs);
    if (!(await refusedForWantOfReport(append))) return;
    log.warn('the Hub has no error report of this submission (its creation never landed): making it again');
  }
  await ledger.jobCall('error-report', () => hub.createBlankErrorReport(submissionId));
  await append();
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
  reportLandingMs = REPORT_LANDING_MS,
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
        () =>
          ledger.fileCallOnce(fileName, 'file-error', () =>
            appendFileError(hub, ledger, submissionId, error, reportLandingMs, log),
          ),
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
