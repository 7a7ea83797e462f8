import { concatMap, defer, from, type Observable, tap } from 'rxjs';
import type { FileScore, FileTask } from '../domain/file-run.js';
import type { JobEvent } from '../domain/job-event.js';
import type { ResourceLimits } from '../domain/limits.js';
import type { BuiltWorkspace } from '../domain/workspace.js';
import type { ContainerEngine } from '../ports/container-engine.js';
import type { FileFormats } from '../ports/file-formats.js';
import type { HubApi } from '../ports/hub-api.js';
import type { ObjectStore } from '../ports/object-store.js';
import { reportFileProgress } from '../sinks/hub-progress.js';
import { abortOnEarlyFailures } from './abort-on-early-failures.js';
import type { JobScope } from './job-scope.js';
import { retryInfrastructureFaults } from './retry-infrastructure-faults.js';
import { runFile } from './run-file.js';
import { runWithinMemory } from './run-within-memory.js';
import { scoreFile } from './score-file.js';
import { tallyFiles } from './tally-files.js';

export interface RunFilesPorts {
  readonly engine: ContainerEngine;
  readonly store: ObjectStore;
  readonly hub: HubApi;
  readonly files: FileFormats;
  /** Bytes free for containers right now. */
  readonly freeMemory: () => number;
}

/** Containers at once, as the memory free when the files start allows; never fewer than one. */
function parallelism(freeMemory: () => number, limits: ResourceLimits): number {
  const byMemory = Math.floor(freeMemory() / limits.containerMemoryBytes);
  return Math.max(1, Math.min(limits.maxParallel, byMemory));
}

const failureLine = (score: FileScore) =>
  score.kind === 'failed' ? `${score.task.metadata.file_name}: ${score.failure.message}` : '';

/**
 * The job's third step: every data file in its own container, as many at once as memory allows, each scored as it
 * ends and reported to the Hub, then folded into the tally. Stops with op_7 when the first files all fail. Emits a
 * `file` event per file, then `scored`.
 */
export function runFiles(
  workspace: BuiltWorkspace,
  scope: JobScope,
  ports: RunFilesPorts,
  limits: ResourceLimits,
): Observable<JobEvent> {
  return defer(() => runAll(workspace, scope, ports, limits));
}

function runAll(
  workspace: BuiltWorkspace,
  scope: JobScope,
  ports: RunFilesPorts,
  limits: ResourceLimits,
): Observable<JobEvent> {
  const parallel = parallelism(ports.freeMemory, limits);
  scope.log.info({ parallel, files: workspace.files.length }, 'running files');
  const runPorts = {
    engine: ports.engine,
    store: ports.store,
    limits,
    labels: scope.labels,
    freeMemory: ports.freeMemory,
  };
  let running = 0;
  let peak = 0;
  const runAndScore = (task: FileTask) =>
    defer(() => {
      running += 1;
      peak = Math.max(peak, running);
      // Before the run's end reaches runWithinMemory, which starts the next file in that moment.
      const ended = () => (running -= 1);
      return runFile(workspace, task, runPorts).pipe(
        retryInfrastructureFaults(scope.log.child({ file: task.metadata.file_name })),
        concatMap((run) => scoreFile(workspace, run, ports)),
        tap({ complete: ended, error: ended, unsubscribe: ended }),
      );
    });
  return from(workspace.files).pipe(
    runWithinMemory(runAndScore, {
      costOf: () => limits.containerMemoryBytes,
      freeMemory: ports.freeMemory,
      maxConcurrent: limits.maxParallel,
    }),
    abortOnEarlyFailures(
      Math.min(limits.earlyAbortFiles, workspace.files.length),
      (score) => score.kind === 'failed',
      (failures) => failures.map(failureLine).join('; '),
    ),
    reportFileProgress(ports.hub, workspace.job.submissionId, scope.log),
    tallyFiles(workspace, parallel, () => peak),
  );
}
