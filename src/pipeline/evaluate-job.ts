import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { catchError, concat, concatMap, connect, defer, from, last, map, merge, type Observable, of, scan, tap } from 'rxjs';
import type { Logger } from 'pino';
import type { ResourceLimits } from '../domain/limits.js';
import { asWorkerError, errorTypeOf, type WorkerError } from '../domain/errors.js';
import type { FileScore } from '../domain/file-run.js';
import type { Job } from '../domain/job.js';
import { addScore, emptyTally } from '../domain/tally.js';
import { abortOnEarlyFailures } from '../operators/abort-on-early-failures.js';
import { failAfter } from '../operators/fail-after.js';
import { runWithinMemory } from '../operators/run-within-memory.js';
import { fromAbortable } from '../streams/from-abortable.js';
import type { ContainerEngine } from '../ports/container-engine.js';
import type { HubApi } from '../ports/hub-api.js';
import type { ImageBuilder } from '../ports/image-builder.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { ResultsPublisher } from '../ports/results-publisher.js';
import { finishJob } from '../sinks/finish-job.js';
import { reportFileProgress } from '../sinks/hub-progress.js';
import type { JobEvent } from './events.js';
import { runFile } from './run-file.js';
import { scoreRun } from './score-run.js';
import { stageJob } from './staging.js';
import { type BuiltWorkspace, workspacePaths, workspacePrefix } from './workspace.js';

export interface JobDeps {
  readonly store: ObjectStore;
  readonly hub: HubApi;
  readonly engine: ContainerEngine;
  readonly publisher: ResultsPublisher;
  readonly limits: ResourceLimits;
  readonly jobTimeLimitMs: number;
  readonly workDir: string;
  /** Bytes free for containers right now (streams/memory-readings + domain/memory-budget). */
  readonly freeMemory: () => number;
  /** Keep the workspace after the job (for debugging); it is removed otherwise. */
  readonly keepWorkspace: boolean;
  /** The submission's image, and the report image the task's template renders in. */
  readonly images: ImageBuilder;
  /**
   * Whether a failed job goes back to the queue for another worker, with the Hub not told, instead of being reported
   * failed; asked only while no file was reported to the Hub yet. Absent: every failure is reported (a local
   * evaluation has no second try).
   */
  readonly retryLater?: (error: WorkerError) => boolean;
}

/** Labels on everything this worker creates for a submission, so leftovers can be found and removed. */
export function jobLabels(job: Job): Record<string, string> {
  return { 'pvhub.managed': 'true', 'pvhub.submission': String(job.submissionId) };
}

/** Files one after another through containers, within memory, scored, reported; stops early on op_7. */
function fileScores(ws: BuiltWorkspace, deps: JobDeps): Observable<FileScore> {
  const runDeps = { engine: deps.engine, store: deps.store, limits: deps.limits, labels: jobLabels(ws.job) };
  return from(ws.files).pipe(
    runWithinMemory((task) => runFile(ws, task, runDeps).pipe(concatMap((run) => scoreRun(ws, run, deps.store))), {
      costOf: () => deps.limits.containerMemoryBytes,
      freeMemory: deps.freeMemory,
      maxConcurrent: deps.limits.maxParallel,
    }),
    abortOnEarlyFailures(
      Math.min(deps.limits.earlyAbortFiles, ws.files.length),
      (score) => score.kind === 'failed',
      (failures) => failures.map((score) => (score.kind === 'failed' ? `${score.task.metadata.file_name}: ${score.failure.message}` : '')).join('; '),
    ),
    reportFileProgress(deps.hub, ws.job.submissionId, ws.log),
  );
}

function parallelism(deps: JobDeps): number {
  const byMemory = Math.floor(deps.freeMemory() / deps.limits.containerMemoryBytes);
  return Math.max(1, Math.min(deps.limits.maxParallel, byMemory));
}

/**
 * Status failed, then the breaking error report. Resolves whether the Hub has the final word: it accepted the status,
 * or refused it for good (a 4xx is the same on every try); false when it could not be reached.
 */
export async function reportFailure(hub: HubApi, submissionId: number, error: WorkerError, log: Logger): Promise<boolean> {
  let told = true;
  try {
    await hub.setStatus(submissionId, 'failed');
  } catch (statusError) {
    told = !asWorkerError(statusError, 'wr_5').retryable;
    log.error({ err: statusError }, 'could not set status failed');
  }
  try {
    await hub.reportBreakingError(submissionId, { error_code: error.code, error_type: errorTypeOf(error.code), error_message: error.message });
  } catch (reportError) {
    log.error({ err: reportError }, 'could not send the error report');
  }
  return told;
}

/**
 * One submission, from the message to the final status, as a stream of events. It never errors: a breaking
 * failure becomes a `failed` event after the Hub has been told. Whatever happens, the job's containers are removed,
 * its log is published, and its workspace is deleted before the stream completes.
 */
export function evaluateJob(job: Job, log: Logger, logsDir: string, deps: JobDeps): Observable<JobEvent> {
  return defer(() => from(mkdtemp(path.join(deps.workDir, workspacePrefix(job.submissionId))))).pipe(
    concatMap((dir) => {
      // Once the Hub has a file's progress or error, another try would send them twice (and double the error rate).
      let fileReported = false;
      const main$ = defer(() => from(deps.hub.setStatus(job.submissionId, 'running'))).pipe(
        catchError((error: unknown) => {
          throw asWorkerError(error, 'wr_5');
        }),
        concatMap(() => stageJob(job, dir, log, deps)),
        concatMap((ws) =>
          concat(
            of<JobEvent>({ type: 'staged', files: ws.files.length, functionName: ws.config.functionName }),
            fromAbortable((signal) =>
              deps.images
                .submissionImage({ submissionDir: ws.submissionDir, pythonVersion: job.pythonVersion, workDir: workspacePaths(ws.dir).build, labels: jobLabels(job), log: ws.log.child({ stage: 'build' }), signal })
                .then((image) => ({ ...ws, image: image.tag, cached: image.cached, warnings: image.warnings })),
            ).pipe(
              concatMap((built) => {
                const parallel = parallelism(deps);
                log.info({ parallel, files: ws.files.length }, 'running files');
                return concat(
                  of<JobEvent>({ type: 'image', tag: built.image, cached: built.cached, warnings: built.warnings }),
                  fileScores(built, deps).pipe(
                    tap(() => (fileReported = true)),
                    scan((tally, score) => ({ tally: addScore(tally.tally, score), score }), { tally: emptyTally(ws.files.length), score: undefined as FileScore | undefined }),
                    connect((shared) =>
                      merge(
                        shared.pipe(map(({ tally, score }): JobEvent => ({ type: 'file', score: score as FileScore, tally, parallel }))),
                        shared.pipe(
                          last(undefined, { tally: emptyTally(ws.files.length), score: undefined }),
                          concatMap(({ tally }) => finishJob(built, tally, { hub: deps.hub, publisher: deps.publisher, engine: deps.engine, limits: deps.limits, labels: jobLabels(job), images: deps.images })),
                        ),
                      ),
                    ),
                  ),
                );
              }),
            ),
          ),
        ),
        failAfter(deps.jobTimeLimitMs, () => asWorkerError(new Error(`the job exceeded its time limit of ${(deps.jobTimeLimitMs / 3_600_000).toFixed(2)} h`), 'op_500')),
        catchError((error: unknown) => {
          const failure = asWorkerError(error);
          log.error({ code: failure.code, err: failure.cause ?? failure }, failure.message);
          if (!fileReported && deps.retryLater?.(failure) === true) {
            log.warn({ code: failure.code }, 'the job goes back to the queue for another try; the Hub is not told');
            return of<JobEvent>({ type: 'failed', error: failure, retry: true, told: false });
          }
          return from(reportFailure(deps.hub, job.submissionId, failure, log)).pipe(map((told): JobEvent => ({ type: 'failed', error: failure, retry: false, told })));
        }),
      );
      const cleanup$ = defer(async () => {
        const removed = await deps.engine.removeContainers(jobLabels(job)).catch(() => 0);
        if (removed > 0) log.warn({ removed }, 'removed containers left by the job');
        await deps.publisher.publishLogs(job, logsDir).catch((error: unknown) => log.error({ err: error }, 'log upload failed'));
        // A folder the submission made that cannot be removed must not turn a settled job into a crash.
        if (!deps.keepWorkspace) await rm(dir, { recursive: true, force: true }).catch((error: unknown) => log.error({ err: error, workspace: dir }, 'workspace not removed'));
        else log.info({ workspace: dir }, 'workspace kept');
      }).pipe(concatMap(() => [] as JobEvent[]));
      return concat(main$, cleanup$);
    }),
  );
}

