import type { ErrorCode, WorkerError } from './errors.js';
import type { Job } from './job.js';

/**
 * One line per job for the operators' log queries (CloudWatch Logs Insights): flat fields, seconds as numbers, a
 * phase the job never reached as null.
 */
export interface JobSummary {
  readonly msg: 'job summary';
  readonly submission: number;
  readonly analysis: number;
  readonly outcome: 'finished' | 'failed' | 'cancelled';
  readonly code: ErrorCode | null;
  readonly total_seconds: number;
  readonly stage_seconds: number | null;
  readonly build_seconds: number | null;
  readonly files_seconds: number | null;
  readonly finish_seconds: number | null;
  readonly files_ok: number;
  readonly files_failed: number;
  readonly peak_parallel: number;
  readonly image_cached: boolean | null;
  readonly bytes_staged: number | null;
}

/** What of a job's events the summary reads (a JobEvent is one). */
export type SummaryEvent =
  | { readonly type: 'staged'; readonly bytes: number }
  | { readonly type: 'image'; readonly cached: boolean }
  | { readonly type: 'file'; readonly score: { readonly kind: 'scored' | 'failed' } }
  | { readonly type: 'scored'; readonly peakParallel: number }
  | SummaryOutcome;

export type SummaryOutcome =
  | { readonly type: 'finished' }
  | { readonly type: 'failed'; readonly error: WorkerError }
  | { readonly type: 'cancelled' };

/** What the fold keeps between events: the time each phase ended, and the counts. */
export interface SummaryState {
  readonly startedAt: number;
  readonly stagedAt?: number;
  readonly imageAt?: number;
  readonly scoredAt?: number;
  readonly filesOk: number;
  readonly filesFailed: number;
  readonly peakParallel: number;
  readonly imageCached?: boolean;
  readonly bytesStaged?: number;
}

export const startSummary = (startedAt: number): SummaryState => ({
  startedAt,
  filesOk: 0,
  filesFailed: 0,
  peakParallel: 0,
});

/** The state after one event at time `at` (ms). Pure. */
export function addToSummary(state: SummaryState, event: SummaryEvent, at: number): SummaryState {
  switch (event.type) {
    case 'staged':
      return { ...state, stagedAt: at, bytesStaged: event.bytes };
    case 'image':
      return { ...state, imageAt: at, imageCached: event.cached };
    case 'file':
      return event.score.kind === 'scored'
        ? { ...state, filesOk: state.filesOk + 1 }
        : { ...state, filesFailed: state.filesFailed + 1 };
    case 'scored':
      return { ...state, scoredAt: at, peakParallel: event.peakParallel };
    default:
      return state;
  }
}

const seconds = (from: number | undefined, to: number | undefined) =>
  from === undefined || to === undefined ? null : (to - from) / 1000;

/** The summary line of a job that ended with `outcome` at time `at`. Pure. */
export function summaryOf(
  job: Pick<Job, 'submissionId' | 'analysisId'>,
  state: SummaryState,
  outcome: SummaryOutcome,
  at: number,
): JobSummary {
  return {
    msg: 'job summary',
    submission: job.submissionId,
    analysis: job.analysisId,
    outcome: outcome.type,
    code: outcome.type === 'failed' ? outcome.error.code : null,
    total_seconds: (at - state.startedAt) / 1000,
    stage_seconds: seconds(state.startedAt, state.stagedAt),
    build_seconds: seconds(state.stagedAt, state.imageAt),
    files_seconds: seconds(state.imageAt, state.scoredAt),
    finish_seconds: outcome.type === 'finished' ? seconds(state.scoredAt, at) : null,
    files_ok: state.filesOk,
    files_failed: state.filesFailed,
    peak_parallel: state.peakParallel,
    image_cached: state.imageCached ?? null,
    bytes_staged: state.bytesStaged ?? null,
  };
}
