import { defer, type MonoTypeOperatorFunction, tap } from 'rxjs';
import type { Job } from '../domain/job.js';
import {
  addToSummary,
  type JobSummary,
  type SummaryEvent,
  type SummaryOutcome,
  startSummary,
  summaryOf,
} from '../domain/job-summary.js';

const isOutcome = (event: SummaryEvent): event is SummaryOutcome =>
  event.type === 'finished' || event.type === 'failed' || event.type === 'cancelled';

/**
 * Passes a job's events through and, at its outcome, hands its summary line to `emit`: the time of each phase, the
 * files, the parallelism, the cache and the bytes staged.
 *
 * ```
 * source:  -s-i-f-f-d-F|       F: finished
 * result:  -s-i-f-f-d-F|       emit(summary) at F
 * ```
 */
export function summarizeJob<E extends SummaryEvent>(
  job: Pick<Job, 'submissionId' | 'analysisId'>,
  emit: (summary: JobSummary) => void,
  now: () => number = Date.now,
): MonoTypeOperatorFunction<E> {
  return (source) =>
    defer(() => {
      let state = startSummary(now());
      return source.pipe(
        tap((event) => {
          const at = now();
          state = addToSummary(state, event, at);
          if (isOutcome(event)) emit(summaryOf(job, state, event, at));
        }),
      );
    });
}
