import { isDeepStrictEqual } from 'node:util';
import type { ErrorReportRow, RecordedRequest } from '../../spec/helpers/hub-server.js';

/**
 * What the Hub was told of each submission, read from the test Hub server's records (what reached it and what it
 * applied, whatever the worker heard back), and how that compares with a clean run of the same zip. Pure.
 */

export interface HubRecords {
  readonly requests: readonly RecordedRequest[];
  readonly errorReports: ReadonlyMap<number, readonly ErrorReportRow[]>;
  readonly results: ReadonlyMap<number, unknown>;
}

export interface SubmissionView {
  readonly submissionId: number;
  readonly zip: string;
  /** Every status the Hub applied, in order. */
  readonly statuses: readonly string[];
  /** The last status, when it is a final one. */
  readonly final: 'finished' | 'failed' | undefined;
  /** progress_increment calls the Hub counted. */
  readonly progress: number;
  /** Error report rows the Hub made: blank ones (for file errors) and breaking ones. */
  readonly blankReports: number;
  readonly breakingReports: number;
  /** The file names of the file errors on the report the front end shows (the first), in order. */
  readonly fileErrors: readonly string[];
  /** The codes of the breaking error reports the Hub took, in order. */
  readonly breakingCodes: readonly string[];
  /** What the last results the Hub took scored: the file count and the public metrics but the runtime's. */
  readonly scored: unknown;
}

const FINAL = new Set(['finished', 'failed']);

/**
 * The scores of a results object: its file count and metrics, without those of the runtime (a measured wall time,
 * which no two runs share, e.g. `mean_runtime`).
 */
function scoredPart(results: unknown): unknown {
  if (results === undefined) return undefined;
  const { number_of_files: files, metrics = {} } = results as {
    number_of_files?: unknown;
    metrics?: Record<string, unknown>;
  };
  return { files, metrics: Object.fromEntries(Object.entries(metrics).filter(([key]) => !/(^|_)runtime$/.test(key))) };
}
const applied = (request: RecordedRequest) => request.status >= 200 && request.status < 300;

export function submissionView(records: HubRecords, submissionId: number, zip: string): SubmissionView {
  const own = records.requests.filter(
    (r) =>
      applied(r) &&
      (r.path.endsWith(`/${submissionId}`) ||
        r.path.includes(`/${submissionId}/`) ||
        (r.body as { submission?: unknown } | undefined)?.submission === submissionId),
  );
  const statuses = own
    .filter((r) => r.method === 'PUT' && r.path === `submissions/change_submission_status/${submissionId}`)
    .map((r) => String((r.body as { status?: unknown }).status));
  const last = statuses.at(-1);
  const [shown] = records.errorReports.get(submissionId) ?? [];
  const breaking = own.filter((r) => r.method === 'POST' && r.path === 'error/error_report');
  return {
    submissionId,
    zip,
    statuses,
    final: last !== undefined && FINAL.has(last) ? (last as 'finished' | 'failed') : undefined,
    progress: own.filter(
      (r) => r.method === 'POST' && r.path === `submissions/submission/${submissionId}/progress_increment`,
    ).length,
    blankReports: own.filter((r) => r.method === 'POST' && r.path === 'error/error_report/new').length,
    breakingReports: breaking.length,
    breakingCodes: breaking.map((r) => String((r.body as { error_code?: unknown }).error_code)),
    fileErrors: (shown?.file_errors.errors ?? []).map((error) => String((error as { file_name?: unknown }).file_name)),
    scored: scoredPart(records.results.get(submissionId)),
  };
}

/** Why a submission counts as double-counted, if it does: each reason a way the Hub shows a rerun's work twice. */
export function doubleCounts(view: SubmissionView, fileCount: number): string[] {
  const reasons: string[] = [];
  if (view.progress > fileCount) reasons.push(`progress ${view.progress} of ${fileCount} files`);
  if (view.blankReports > 1) reasons.push(`${view.blankReports} blank error reports`);
  if (view.breakingReports > 1) reasons.push(`${view.breakingReports} breaking error reports`);
  const repeated = [...new Set(view.fileErrors.filter((name, i) => view.fileErrors.indexOf(name) !== i))];
  if (repeated.length > 0) reasons.push(`file errors reported again for ${repeated.join(', ')}`);
  return reasons;
}

/** How the soak's view of a submission differs from the clean run of its zip (empty when it does not). */
export function unlikeClean(view: SubmissionView, clean: SubmissionView): string[] {
  const reasons: string[] = [];
  const ending = (of: SubmissionView) =>
    `${of.final ?? 'without a final status'}${of.breakingCodes.length > 0 ? ` (${of.breakingCodes.join(', ')})` : ''}`;
  if (view.final !== clean.final) reasons.push(`ended ${ending(view)}, clean ${ending(clean)}`);
  else if (view.final === 'finished' && !isDeepStrictEqual(view.scored, clean.scored))
    reasons.push(`scored ${JSON.stringify(view.scored)}, clean ${JSON.stringify(clean.scored)}`);
  const foreign = [...new Set(view.fileErrors)].filter((name) => !clean.fileErrors.includes(name));
  if (foreign.length > 0) reasons.push(`file errors the clean run has not: ${foreign.join(', ')}`);
  const missing = view.final === clean.final ? clean.fileErrors.filter((name) => !view.fileErrors.includes(name)) : [];
  if (missing.length > 0) reasons.push(`file errors of the clean run the Hub does not show: ${missing.join(', ')}`);
  return reasons;
}

/**
 * `running` applied after a final status: the job ran again once the Hub had its end. (A final status applied twice
 * in a row is one call retried after its answer was lost: the PUT is idempotent.)
 */
export const ranAfterFinal = (view: SubmissionView) =>
  view.statuses.some(
    (status, i) => status === 'running' && view.statuses.slice(0, i).some((before) => FINAL.has(before)),
  );

/** Counts by a key. */
export function tally<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
