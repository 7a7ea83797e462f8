import type { FileFailure } from './errors.js';
import type { FileScore, FileScoreRow, FileTask } from './file-run.js';

/**
 * The durable record of one submission's job across its attempts: the files scored and the Hub calls the Hub
 * applied. The Hub's progress and error routes are not idempotent, so what it was told must outlive the process
 * that told it: a rerun (after kill -9, SIGTERM, a lost delete, a released failure) runs only the files not yet
 * scored and sends no call twice.
 *
 * The calls are kept as facts that are only ever added (CallFact), never as a record rewritten: a write that lands
 * late, held in the network past its client's timeout and applied after a later one, then restates what is already
 * true, where a rewritten record would go back to what it said before (and a rerun would send its call again).
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

/**
 * One fact about one try of a Hub call. `sent`: the try was recorded before the call went (after it, for a status).
 * `withdrawn`: the Hub surely did not apply that try (it refused, or the request never left).
 */
export type CallFact = (
  { readonly file: string; readonly call: FileCall } | { readonly file?: undefined; readonly call: JobCall }
) & {
  /** Unique to the try, so that a withdrawal takes back that try alone. */
  readonly tryId: string;
  readonly kind: 'sent' | 'withdrawn';
};

export interface LedgerFile {
  readonly score: LedgerScore;
  readonly applied: readonly FileCall[];
}

export interface LedgerRecord {
  readonly files: ReadonlyMap<string, LedgerFile>;
  readonly applied: ReadonlySet<JobCall>;
  /** Earlier attempts handed back because their worker was told to stop (SIGTERM): none failed the job. */
  readonly stops: number;
}

export const EMPTY_LEDGER: LedgerRecord = { files: new Map(), applied: new Set(), stops: 0 };

/**
 * How many of the message's receipts count against its tries: an attempt handed back on a stop (a deploy, a scale-in)
 * failed nothing, so it does not, but only up to `maxReceives` of them, so that a job whose worker keeps being
 * stopped by its host (one that starves the worker's health check) still ends. Pure.
 */
export function receiptsSpent(receiveCount: number, stops: number, maxReceives: number): number {
  return receiveCount - Math.min(stops, maxReceives);
}

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
export function finalStatusOf(record: Pick<LedgerRecord, 'applied'>): 'finished' | 'failed' | undefined {
  if (record.applied.has('status-finished')) return 'finished';
  if (record.applied.has('status-failed')) return 'failed';
  return undefined;
}

/**
 * What the scores and facts add up to: a call is applied when one of its tries was sent and not withdrawn. A fact
 * about a file with no score is left out: no call about a file goes before its score is kept.
 */
export function ledgerRecordOf(
  scores: ReadonlyMap<string, LedgerScore>,
  facts: Iterable<CallFact>,
  stops: number,
): LedgerRecord {
  const sent: CallFact[] = [];
  const withdrawn = new Set<string>();
  for (const fact of facts) {
    if (fact.kind === 'sent') sent.push(fact);
    else withdrawn.add(fact.tryId);
  }
  const fileCalls = new Map<string, Set<FileCall>>();
  const applied = new Set<JobCall>();
  for (const fact of sent) {
    if (withdrawn.has(fact.tryId)) continue;
    if (fact.file === undefined) applied.add(fact.call);
    else fileCalls.set(fact.file, (fileCalls.get(fact.file) ?? new Set()).add(fact.call));
  }
  const files = new Map<string, LedgerFile>();
  for (const [name, score] of scores) files.set(name, { score, applied: [...(fileCalls.get(name) ?? [])] });
  return { files, applied, stops };
}

const FILE_CALLS: readonly string[] = ['file-error', 'progress'];
const JOB_CALLS: readonly string[] = ['error-report', 'status-finished', 'status-failed', 'breaking-error'];

export function isFileCall(value: string): value is FileCall {
  return FILE_CALLS.includes(value);
}

export function isJobCall(value: string): value is JobCall {
  return JOB_CALLS.includes(value);
}

/** A score read back, or undefined when it is not one (written by another version, or damaged). */
export function parseLedgerScore(value: unknown): LedgerScore | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { score } = value as { score?: unknown };
  if (typeof score !== 'object' || score === null) return undefined;
  const kind = (score as { kind?: unknown }).kind;
  return kind === 'scored' || kind === 'failed' ? (score as LedgerScore) : undefined;
}
