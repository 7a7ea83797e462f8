import { finalize, map, type Observable, tap } from 'rxjs';
import { asWorkerError, type WorkerError } from '../domain/errors.js';
import { type EgressSettings } from '../domain/egress-policy.js';
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
import { JobReport } from './job-report.js';
import { type JobScopeOptions, withJobScope } from './job-scope.js';
import { runFiles, type RunFilesPorts } from './run-files.js';
import { stageJob, type StagePorts } from './stage-job.js';
import { type EgressPorts, withEgress } from './with-egress.js';

/** Everything a job talks to; the wiring builds them for the local command or the worker service. */
export interface JobPorts extends StagePorts, RunFilesPorts, FinishPorts, EgressPorts {
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
   * failed (the next attempt resumes from the job's ledger). Absent: every failure is reported.
   */
  readonly retryLater?: (error: WorkerError) => boolean;
  /** What network a task may ask for. Absent: none, and a task that lists hosts is refused. */
  readonly egress?: EgressSettings;
}

const NO_EGRESS: EgressSettings = { enabled: false, cap: [], outwardNetwork: 'none', deny: [] };

const overTime = (ms: number) => () =>
  asWorkerError(new Error(`the job exceeded its time limit of ${(ms / 3_600_000).toFixed(2)} h`), 'op_500');

/**
 * One submission, from the status `running` to its final status, as a stream of events: staged → image → file … →
 * scored → finished, or failed (after the Hub was told), or cancelled. It never errors. Its containers, log and
 * workspace are released before it completes, however it ends.
 */
export function evaluateSubmission(job: Job, ports: JobPorts, options: JobOptions): Observable<JobEvent> {
  const { limits } = options;
  return withJobScope(job, ports, options, (scope) => {
    // Its container starts once a slot is free for it, while the files run; the files see its memory as taken.
    const report = new JobReport({ ...ports, limits, labels: scope.labels, jobTimeLimitMs: options.timeLimitMs });
    const filePorts = { ...ports, freeMemory: report.freeMemory };
    return stageJob(job, scope, ports).pipe(
      afterEvent('staged', ({ workspace }) =>
        withEgress(workspace.config.networkAllowlist, scope, ports, options.egress ?? NO_EGRESS, (egress) =>
          buildImage(workspace, scope, ports.images).pipe(
            afterEvent('image', (built) => runFiles(built.workspace, scope, filePorts, limits, egress)),
          ),
        ),
      ),
      tap(report.watch),
      afterEvent('scored', ({ workspace, tally }) => finishJob(workspace, tally, ports, report)),
      failAfter(options.timeLimitMs, overTime(options.timeLimitMs)),
      failJob(ports.hub, ports.ledger, job.submissionId, scope.log, options.retryLater),
      cutBy(abortReason(options.signal).pipe(map((reason): JobEvent => ({ type: 'cancelled', reason })))),
      finalize(() => report.close()),
    );
  });
}
