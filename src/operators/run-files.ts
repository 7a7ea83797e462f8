import { existsSync } from 'node:fs';
import path from 'node:path';
import { concat, concatMap, defer, EMPTY, from, map, type Observable, of, tap } from 'rxjs';
import type { FileScore, FileTask } from '../domain/file-run.js';
import type { JobEvent } from '../domain/job-event.js';
import type { ResourceLimits } from '../domain/limits.js';
import { restoredScore } from '../domain/ledger.js';
import { type BuiltWorkspace, workspacePaths } from '../domain/workspace.js';
import type { ContainerEngine, ResultsHolders } from '../ports/container-engine.js';
import type { FileFormats } from '../ports/file-formats.js';
import type { HubApi } from '../ports/hub-api.js';
import type { ObjectStore } from '../ports/object-store.js';
import { reportFileProgress } from '../sinks/hub-progress.js';
import type { LedgerSession } from '../sinks/ledger-session.js';
import { abortOnEarlyFailures } from './abort-on-early-failures.js';
import type { JobScope } from './job-scope.js';
import { retryInfrastructureFaults } from './retry-infrastructure-faults.js';
import { type RunFilePorts, runFile } from './run-file.js';
import { runWithinMemory, type Turn } from './run-within-memory.js';
import { scoreFile } from './score-file.js';
import { tallyFiles } from './tally-files.js';
import { usingResource } from './using-resource.js';
import type { JobEgress } from './with-egress.js';

export interface RunFilesPorts {
  readonly engine: ContainerEngine;
  readonly store: ObjectStore;
  readonly hub: HubApi;
  readonly files: FileFormats;
  /** Bytes free for containers right now. */
  readonly freeMemory: () => number;
  /** The job's ledger: files an earlier attempt scored are not run again, and no Hub call is sent twice. */
  readonly ledger: LedgerSession;
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
 * ends, kept in the job's ledger and reported to the Hub, then folded into the tally. Files an earlier attempt of
 * the job scored come from its ledger, first, without a container. Stops with op_7 when the first files all fail.
 * Emits a `file` event per file, then `scored`.
 */
export function runFiles(
  workspace: BuiltWorkspace,
  scope: JobScope,
  ports: RunFilesPorts,
  limits: ResourceLimits,
  egress?: JobEgress,
): Observable<JobEvent> {
  return defer(() => runAll(workspace, scope, ports, limits, egress));
}

function runAll(
  workspace: BuiltWorkspace,
  scope: JobScope,
  ports: RunFilesPorts,
  limits: ResourceLimits,
  egress: JobEgress | undefined,
): Observable<JobEvent> {
  const parallel = parallelism(ports.freeMemory, limits);
  scope.log.info({ parallel, files: workspace.files.count }, 'running files');
  const runPorts: RunFilePorts = {
    engine: ports.engine,
    store: ports.store,
    limits,
    labels: scope.labels,
    egress,
    freeMemory: ports.freeMemory,
  };
  let running = 0;
  let peak = 0;
  const runAndScore = (task: FileTask, turn: Turn, holders: ResultsHolders) =>
    defer(() => {
      // Counted from its turn (not while it warms up) to its container's end.
      let state: 'waiting' | 'running' | 'ended' = 'waiting';
      void turn.go.then(() => {
        if (state !== 'waiting') return;
        state = 'running';
        running += 1;
        peak = Math.max(peak, running);
      });
      // Before the container's end reaches runWithinMemory, which gives the next file its turn in that moment.
      const ended = () => {
        if (state === 'running') running -= 1;
        state = 'ended';
      };
      const done = () => {
        ended();
        turn.done();
      };
      return runFile(workspace, task, { ...runPorts, holders: holders.id }, { go: turn.go, done }).pipe(
        retryInfrastructureFaults(scope.log.child({ file: task.metadata.file_name })),
        concatMap((run) => scoreFile(workspace, run, ports)),
        concatMap((score) =>
          from(ports.ledger.recordScore(task.metadata.file_name, score, keptOutput(task))).pipe(map(() => score)),
        ),
        tap({ complete: ended, error: ended, unsubscribe: ended }),
      );
    });
  const keptOutput = (task: FileTask) => {
    const file = path.join(workspacePaths(workspace.dir).resultFiles, task.metadata.file_name);
    return existsSync(file) ? file : undefined;
  };
  // The files an earlier attempt scored come first, from its ledger; the others are queued by their place only, and
  // read from the file list when their container is made.
  const toRun: number[] = [];
  const earlier$ = from(workspace.files.each()).pipe(
    concatMap((task) => {
      const kept = ports.ledger.scoredBefore(task.metadata.file_name);
      if (kept !== undefined) return of(restoredScore(kept, task));
      toRun.push(task.index);
      return EMPTY;
    }),
  );
  const runRemaining = (holders: ResultsHolders) => {
    const resumed = workspace.files.count - toRun.length;
    if (resumed > 0)
      scope.log.info({ resumed, toRun: toRun.length }, 'files scored by an earlier attempt are not run again');
    return from(toRun).pipe(
      runWithinMemory(
        (index: number, _order: number, turn: Turn) =>
          from(workspace.files.at(index)).pipe(concatMap((task) => runAndScore(task, turn, holders))),
        {
          costOf: () => limits.containerMemoryBytes,
          freeMemory: ports.freeMemory,
          maxConcurrent: limits.maxParallel,
          // One container warming up per slot, within the memory budget: it holds a reservation of its own.
          ahead: limits.maxParallel,
        },
      ),
    );
  };
  // The files' runs share what holds their results in the engine; what is left of it goes when the last one ends.
  const ran$ = usingResource(
    defer(() => of(ports.engine.openResultsHolders(scope.labels))),
    runRemaining,
    (holders) =>
      from(
        holders.close().catch((error: unknown) => {
          // What is left carries the job's labels, and goes with its other containers.
          scope.log.warn({ err: error }, 'could not remove the results holders');
        }),
      ),
  );
  return concat(earlier$, ran$).pipe(
    abortOnEarlyFailures(
      Math.min(limits.earlyAbortFiles, workspace.files.count),
      (score) => score.kind === 'failed',
      (failures) => failures.map(failureLine).join('; '),
    ),
    reportFileProgress(ports.hub, ports.ledger, workspace.job.submissionId, scope.log),
    tallyFiles(workspace, parallel, () => peak),
  );
}
