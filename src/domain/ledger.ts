import type { FileFailure } from './errors.js';
import type { FileScore, FileScoreRow, FileTask } from './file-run.js';

/**
 * The durable record of one submission's job across its attempts: the files scored and the Hub calls the Hub
 * applied. The Hub's progress and error routes are not idempotent, so what it was told must outlive the process
 * that told it: a rerun (after kill -9, SIGTERM, a lost delete, a released failure) runs only the files not yet
 * scored and sends no call twice.
 */

/** A file's score as it is kept: what the tally and the results need, no paths of a workspace. */
export type LedgerScore =
  | {
      readonly kind: 'scored';
      readonly row: FileScoreRow;
      readonly executionTime: number;
      readonly functionParameters: readonly string[];
      readonly wallTimeMs: number;
    }
  | { readonly kind: 'failed'; readonly failure: FileFailure; readonly wallTimeMs: number };

/** The Hub calls of one file. */
export type FileCall = 'file-error' | 'progress';

/** The Hub calls of the job as a whole. */
export type JobCall = 'error-report' | 'status-finished' | 'status-failed' | 'breaking-error';

/**
 * The calls that may be sent again, whatever became of an earlier one: a status PUT sets what it sets. Every other
 * call adds (a progress count, a report, a file error), so one whose answer was lost counts as applied: a call the
 * Hub never got costs less than one it counts twice.
 */
export const REPEATABLE_CALLS: ReadonlySet<FileCall | JobCall> = new Set(['status-finished', 'status-failed']);

export interface LedgerFile {
  readonly score: LedgerScore;
  readonly applied: readonly FileCall[];
}

export interface LedgerRecord {
  readonly files: ReadonlyMap<string, LedgerFile>;
  readonly applied: ReadonlySet<JobCall>;
}

export const EMPTY_LEDGER: LedgerRecord = { files: new Map(), applied: new Set() };

export function ledgerScoreOf(score: FileScore): LedgerScore {
  if (score.kind === 'failed') return { kind: 'failed', failure: score.failure, wallTimeMs: score.wallTimeMs };
  const { executionTime, functionParameters, wallTimeMs } = score.run;
  return { kind: 'scored', row: score.row, executionTime, functionParameters, wallTimeMs };
}

/** The score of an earlier attempt, for this attempt's task of the same file; its output is already kept. */
export function restoredScore(entry: LedgerScore, task: FileTask): FileScore {
  if (entry.kind === 'failed') return { kind: 'failed', task, failure: entry.failure, wallTimeMs: entry.wallTimeMs };
  const { row, executionTime, functionParameters, wallTimeMs } = entry;
  return {
    kind: 'scored',
    row,
    run: { kind: 'ran', task, executionTime, outputPath: '', functionParameters, wallTimeMs },
  };
}

/** The final status an earlier attempt gave the Hub, if one did: the job is then over, whatever happens next. */
export function finalStatusOf(record: LedgerRecord): 'finished' | 'failed' | undefined {
  if (record.applied.has('status-finished')) return 'finished';
  if (record.applied.has('status-failed')) return 'failed';
  return undefined;
}

const FILE_CALLS: readonly string[] = ['file-error', 'progress'];
const JOB_CALLS: readonly string[] = ['error-report', 'status-finished', 'status-failed', 'breaking-error'];

/** A file entry read back, or undefined when it is not one (written by another version, or damaged). */
export function parseLedgerFile(value: unknown): LedgerFile | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { score, applied } = value as { score?: unknown; applied?: unknown };
  if (typeof score !== 'object' || score === null || !Array.isArray(applied)) return undefined;
  const kind = (score as { kind?: unknown }).kind;
  if (kind !== 'scored' && kind !== 'failed') return undefined;
  return {
    score: score as LedgerScore,
    applied: applied.filter((call): call is FileCall => FILE_CALLS.includes(String(call))),
  };
}

export function parseJobCalls(value: unknown): JobCall[] {
  return Array.isArray(value) ? value.filter((call): call is JobCall => JOB_CALLS.includes(String(call))) : [];
}
