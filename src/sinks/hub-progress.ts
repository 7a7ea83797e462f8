import type { Logger } from 'pino';
import { concatMap, defer, from, map, type OperatorFunction } from 'rxjs';
import { FILE_ERROR_TYPE } from '../domain/errors.js';
import { type FileScore, wallSecondsOf } from '../domain/file-run.js';
import type { HubApi } from '../ports/hub-api.js';

/**
 * One Hub call of a file's report, in its own try. As the original: these reports are advisory, so a refusal is
 * logged and fails neither the job nor the calls after it. Resolves whether the Hub took it.
 */
async function attempt(what: string, call: () => Promise<void>, log: Logger): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    log.warn({ err: error }, `${what} to the Hub failed`);
    return false;
  }
}

/**
 * Tells the Hub about each finished file, in order: for a failed one a non-breaking error, then for every file the
 * progress increment with its wall time (the function's own runtime is the scored metric, not the Hub's ETA).
 * The error report those errors are appended to is made at the job's first failed file, not before: the Hub's front
 * end shows a submission's first report, and a blank one made at start would hide the code of a job that fails
 * before any file error. Made once per subscription (one job); tried again at the next failed file if the Hub
 * refused it. Passes the scores through once reported.
 */
export function reportFileProgress(hub: HubApi, submissionId: number, log: Logger): OperatorFunction<FileScore, FileScore> {
  return (scores) =>
    defer(() => {
      let reportMade = false;
      const report = async (score: FileScore) => {
        if (score.kind === 'failed') {
          reportMade ||= await attempt('the error report', () => hub.createBlankErrorReport(submissionId), log);
          const error = { error_code: score.failure.code, error_type: FILE_ERROR_TYPE, error_message: score.failure.message, file_name: score.task.metadata.file_name };
          await attempt('a file error', () => hub.reportFileError(submissionId, error), log);
        }
        await attempt('the progress', () => hub.progressIncrement(submissionId, wallSecondsOf(score)), log);
      };
      return scores.pipe(concatMap((score) => from(report(score)).pipe(map(() => score))));
    });
}
