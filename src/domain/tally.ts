import type { FileFailure } from './errors.js';
import type { FileScore, FileScoreRow } from './file-run.js';

export interface FailedFile {
  readonly fileName: string;
  readonly failure: FileFailure;
}

/** The running state of a job's files: what the progress display and the final results are made from. */
export interface Tally {
  readonly total: number;
  readonly done: number;
  readonly rows: readonly FileScoreRow[];
  readonly failed: readonly FailedFile[];
  /** file_name → seconds, for execution_time.csv; also for failed files whose function did run. */
  readonly executionTimes: ReadonlyArray<readonly [string, number]>;
  readonly functionParameters: readonly string[] | undefined;
  readonly wallTimeMs: number;
}

export function emptyTally(total: number): Tally {
  return { total, done: 0, rows: [], failed: [], executionTimes: [], functionParameters: undefined, wallTimeMs: 0 };
}

/** Adds one finished file. Pure: returns a new tally. */
export function addScore(tally: Tally, score: FileScore): Tally {
  if (score.kind === 'failed') {
    return {
      ...tally,
      done: tally.done + 1,
      failed: [...tally.failed, { fileName: score.task.metadata.file_name, failure: score.failure }],
      wallTimeMs: tally.wallTimeMs + score.wallTimeMs,
    };
  }
  return {
    ...tally,
    done: tally.done + 1,
    rows: [...tally.rows, score.row],
    executionTimes: [...tally.executionTimes, [score.run.task.metadata.file_name, score.run.executionTime]],
    functionParameters: tally.functionParameters ?? score.run.functionParameters,
    wallTimeMs: tally.wallTimeMs + score.run.wallTimeMs,
  };
}

/** Seconds left at the pace so far, assuming `parallel` files at once; undefined before the first file. */
export function etaSeconds(tally: Tally, parallel: number): number | undefined {
  if (tally.done === 0) return undefined;
  const perFile = tally.wallTimeMs / tally.done / 1000;
  return (perFile * (tally.total - tally.done)) / Math.max(1, parallel);
}
