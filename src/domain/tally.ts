import type { FileFailure } from './errors.js';
import type { FileScore, FileScoreRow } from './file-run.js';

export interface FailedFile {
  readonly fileName: string;
  readonly failure: FileFailure;
}

/**
 * The scored files' rows in the order they came, kept column by column: a number per value per file and the
 * file's name, no object per file, so that a job of 10,000 files holds little more than its numbers.
 */
export interface ScoredRows {
  readonly length: number;
  fileName(row: number): string;
  dataRequirements(row: number): readonly string[];
  /** undefined: that row has no such value; null: not a number. */
  value(row: number, key: string): number | null | undefined;
  /** Seconds the submission's function took on that row's file, for execution_time.csv. */
  executionTime(row: number): number;
}

/** Rows being added to, owned by one fold. */
export class ScoredColumns implements ScoredRows {
  private readonly names: string[] = [];
  private readonly requirements: Array<readonly string[]> = [];
  private readonly executionTimes: number[] = [];
  /** NaN stands for null; a row without the key is in `absent`. */
  private readonly columns = new Map<string, number[]>();
  private readonly absent = new Map<string, Set<number>>();

  get length(): number {
    return this.names.length;
  }

  add(row: FileScoreRow, executionTime: number): void {
    const at = this.names.length;
    this.names.push(row.file_name);
    const previous = this.requirements[at - 1];
    // Every row of a task has the same requirements: one list shared, not a copy per file.
    const same =
      previous !== undefined &&
      previous.length === row.data_requirements.length &&
      previous.every((name, index) => name === row.data_requirements[index]);
    this.requirements.push(same ? previous : row.data_requirements);
    this.executionTimes.push(executionTime);
    for (const [key, value] of Object.entries(row.values)) {
      let column = this.columns.get(key);
      if (column === undefined) {
        column = new Array<number>(at).fill(NaN);
        this.columns.set(key, column);
        if (at > 0) this.absent.set(key, new Set(Array.from({ length: at }, (_, index) => index)));
      }
      column.push(value ?? NaN);
    }
    for (const [key, column] of this.columns) {
      if (column.length > at) continue;
      column.push(NaN);
      let rows = this.absent.get(key);
      if (rows === undefined) this.absent.set(key, (rows = new Set()));
      rows.add(at);
    }
  }

  fileName(row: number): string {
    return this.names[row] as string;
  }

  dataRequirements(row: number): readonly string[] {
    return this.requirements[row] as readonly string[];
  }

  value(row: number, key: string): number | null | undefined {
    const value = this.columns.get(key)?.[row];
    if (value === undefined || this.absent.get(key)?.has(row)) return undefined;
    return Number.isNaN(value) ? null : value;
  }

  executionTime(row: number): number {
    return this.executionTimes[row] as number;
  }
}

/** A job's files once they all ran: what the results are made from. */
export interface Tally {
  readonly total: number;
  readonly done: number;
  /** The scored files, in the order they came. */
  readonly rows: ScoredRows;
  readonly failed: readonly FailedFile[];
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
  readonly rows: ScoredColumns;
  readonly failed: FailedFile[];
  functionParameters: readonly string[] | undefined;
  wallTimeMs: number;
}

export function emptyTally(total: number): OpenTally {
  return { total, done: 0, rows: new ScoredColumns(), failed: [], functionParameters: undefined, wallTimeMs: 0 };
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
  tally.rows.add(score.row, score.run.executionTime);
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
