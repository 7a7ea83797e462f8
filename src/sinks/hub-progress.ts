import type { Logger } from 'pino';
import { concatMap, from, map, type OperatorFunction } from 'rxjs';
import { FILE_ERROR_TYPE } from '../domain/errors.js';
import type { FileScore } from '../domain/file-run.js';
import type { HubApi } from '../ports/hub-api.js';

async function report(hub: HubApi, submissionId: number, score: FileScore, log: Logger): Promise<void> {
  try {
    if (score.kind === 'failed') {
      await hub.reportFileError(submissionId, {
        error_code: score.failure.code,
        error_type: FILE_ERROR_TYPE,
        error_message: score.failure.message,
        file_name: score.task.metadata.file_name,
      });
    }
    await hub.progressIncrement(submissionId, score.kind === 'scored' ? score.run.executionTime : null);
  } catch (error) {
    // As the original: progress is advisory, a failure to report it must not fail the job.
    log.warn({ err: error }, 'progress report to the Hub failed');
  }
}

/**
 * Tells the Hub about each finished file, in order: a non-breaking error for a failed one, then the progress
 * increment with its execution time. Passes the scores through once reported.
 */
export function reportFileProgress(
  hub: HubApi,
  submissionId: number,
  log: Logger,
): OperatorFunction<FileScore, FileScore> {
  return concatMap((score) => from(report(hub, submissionId, score, log)).pipe(map(() => score)));
}
