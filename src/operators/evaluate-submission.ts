import { map, type Observable } from 'rxjs';
import { asWorkerError, type WorkerError } from '../domain/errors.js';
import type { Job } from '../domain/job.js';
import type { JobEvent } from '../domain/job-event.js';
import type { ResourceLimits } from '../domain/limits.js';
import type { ImageBuilder } from '../ports/image-builder.js';
import { abortReason } from '../streams/abort-reason.js';
import { afterEvent } from './after-event.js';
import { buildImage } from './build-image.js';
import { cutBy } from './cut-by.js';
import { failAfter } from './fail-after.js';
import { failJob } from './fail-job.js';
import { finishJob, type FinishPorts } from './finish-job.js';
import { type JobScopeOptions, withJobScope } from './job-scope.js';
import { runFiles, type RunFilesPorts } from './run-files.js';
import { stageJob, type StagePorts } from './stage-job.js';

/** Everything a job talks to; the wiring builds them for the local command or the worker service. */
export interface JobPorts extends StagePorts, RunFilesPorts, FinishPorts {
  readonly images: ImageBuilder;
}

export interface JobOptions extends JobScopeOptions {
  readonly limits: ResourceLimits;
  /** The job's whole time; past it the job fails with op_500. */
  readonly timeLimitMs: number;
  /** Aborting it stops the job: its last event is then `cancelled`, after its containers and workspace are gone. */
  readonly signal: AbortSignal;
  /**
   * Whether a failed job goes back to the queue for another worker, with the Hub not told, instead of being reported
   * failed; asked only while no file was reported to the Hub yet. Absent: every failure is reported.
   */
  readonly retryLater?: (error: WorkerError) => boolean;
}

const overTime = (ms: number) => () =>
  asWorkerError(new Error(`the job exceeded its time limit of ${(ms / 3_600_000).toFixed(2)} h`), 'op_500');

/**
 * One submission, from the status `running` to its final status, as a stream of events: staged → image → file … →
 * scored → finished, or failed (after the Hub was told), or cancelled. It never errors. Its containers, log and
 * workspace are released before it completes, however it ends.
 */
export function evaluateSubmission(job: Job, ports: JobPorts, options: JobOptions): Observable<JobEvent> {
  const { limits } = options;
  return withJobScope(job, ports, options, (scope) =>
    stageJob(job, scope, ports).pipe(
      afterEvent('staged', ({ workspace }) => buildImage(workspace, scope, ports.images)),
      afterEvent('image', ({ workspace }) => runFiles(workspace, scope, ports, limits)),
      afterEvent('scored', ({ workspace, tally }) => finishJob(workspace, tally, scope, ports, limits)),
      failAfter(options.timeLimitMs, overTime(options.timeLimitMs)),
      failJob(ports.hub, job.submissionId, scope.log, options.retryLater),
      cutBy(abortReason(options.signal).pipe(map((reason): JobEvent => ({ type: 'cancelled', reason })))),
    ),
  );
}
