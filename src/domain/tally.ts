import type { FileFailure } from './errors.js';
import type { FileScore, FileScoreRow } from './file-run.js';

export interface FailedFile {
  readonly fileName: string;
  readonly failure: FileFailure;
}

/** A job's files once they all ran: what the results are made from. */
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

/** How far a job's files are: constant in size, whatever the number of files. */
export interface FileProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly wallTimeMs: number;
}

/** A tally being added to, owned by one fold: its lists grow in place. */
export interface OpenTally extends Tally {
  done: number;
  readonly rows: FileScoreRow[];
  readonly failed: FailedFile[];
  readonly executionTimes: Array<readonly [string, number]>;
  functionParameters: readonly string[] | undefined;
  wallTimeMs: number;
}

export function emptyTally(total: number): OpenTally {
  return { total, done: 0, rows: [], failed: [], executionTimes: [], functionParameters: undefined, wallTimeMs: 0 };
}

/**
 * Adds one finished file, in place and in constant work: a copy of the lists per file would cost the square of the
 * file count. Returns the same tally.
 */
export function addScore(tally: OpenTally, score: FileScore): OpenTally {
  tally.done += 1;
  if (score.kind === 'failed') {
    tally.failed.push({ fileName: score.task.metadata.file_name, failure: score.failure });
    tally.wallTimeMs += score.wallTimeMs;
    return tally;
  }
  tally.rows.push(score.row);
  tally.executionTimes.push([score.run.task.metadata.file_name, score.run.executionTime]);
  tally.functionParameters ??= score.run.functionParameters;
  tally.wallTimeMs += score.run.wallTimeMs;
  return tally;
}

export function progressOf(tally: Tally): FileProgress {
  return { total: tally.total, done: tally.done, failed: tally.failed.length, wallTimeMs: tally.wallTimeMs };
}

/** Seconds left at the pace so far, assuming `parallel` files at once; undefined before the first file. */
export function etaSeconds(progress: FileProgress, parallel: number): number | undefined {
  if (progress.done === 0) return undefined;
  const perFile = progress.wallTimeMs / progress.done / 1000;
  return (perFile * (progress.total - progress.done)) / Math.max(1, parallel);
}
