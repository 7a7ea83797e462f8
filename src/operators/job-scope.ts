import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { defer, type Observable, tap } from 'rxjs';
import type { Logger } from 'pino';
import { type Job, jobLabels } from '../domain/job.js';
import type { JobEvent } from '../domain/job-event.js';
import { keptWorkspaceName, ownedWorkspacePrefix, ownerLabels } from '../domain/ownership.js';
import type { JobLogger } from '../logging.js';
import type { ContainerEngine } from '../ports/container-engine.js';
import type { ResultsPublisher } from '../ports/results-publisher.js';
import { removeJobContainers } from '../sinks/remove-job-containers.js';
import { usingResource } from './using-resource.js';

/** What a job holds while it runs: its workspace folder, its log, and the labels of its containers. */
export interface JobScope {
  readonly dir: string;
  readonly log: Logger;
  readonly labels: Readonly<Record<string, string>>;
}

export interface JobScopeOptions {
  readonly workDir: string;
  /** The worker that owns the job's containers and workspace (see domain/ownership.ts). */
  readonly workerId: string;
  /** The job's log, made by the caller (who may show its file); the scope publishes and closes it. */
  readonly jobLog: JobLogger;
  /** Keep the workspace after the job, for debugging. */
  readonly keepWorkspace: boolean;
  /** Keep the log folder after a job that did not finish (the caller shows it); else it goes once published. */
  readonly keepLogUnlessFinished: boolean;
}

export type JobScopePorts = { readonly engine: ContainerEngine; readonly publisher: ResultsPublisher };

/**
 * Runs one job inside the resources it holds, and releases them in this one place whatever way it ends (finished,
 * failed, cut by a stop, unsubscribed): its containers are removed, its log is published and closed, its workspace
 * is deleted. After a cut the removal is repeated until the engine is quiet: a container being created in the moment
 * of the cut appears a little later.
 */
export function withJobScope(
  job: Job,
  ports: JobScopePorts,
  options: JobScopeOptions,
  use: (scope: JobScope) => Observable<JobEvent>,
): Observable<JobEvent> {
  return defer(() => scoped(job, ports, options, use));
}

function scoped(
  job: Job,
  ports: JobScopePorts,
  options: JobScopeOptions,
  use: (scope: JobScope) => Observable<JobEvent>,
): Observable<JobEvent> {
  let last: JobEvent | undefined;
  const { log, dir: logsDir } = options.jobLog;
  const open$ = defer(async (): Promise<JobScope> => {
    await mkdir(options.workDir, { recursive: true });
    const dir = await mkdtemp(path.join(options.workDir, ownedWorkspacePrefix(job.submissionId, options.workerId)));
    return { dir, log, labels: { ...jobLabels(job), ...ownerLabels(options.workerId, options.workDir) } };
  });
  const release = (scope: JobScope) =>
    defer(async () => {
      const settled = last?.type === 'finished' || last?.type === 'failed';
      const removed = settled
        ? await ports.engine.removeContainers(scope.labels).catch((error: unknown) => {
            log.error({ err: error }, 'could not remove the job containers');
            return 0;
          })
        : await removeJobContainers(ports.engine, scope.labels, log);
      if (removed > 0) log.warn({ removed }, 'removed containers left by the job');
      // After the containers: a network with members cannot be removed. A job without egress has none to remove.
      await ports.engine
        .removeNetworks(scope.labels)
        .catch((error: unknown) => log.error({ err: error }, 'could not remove the job network'));
      await ports.publisher
        .publishLogs(job, logsDir)
        .catch((error: unknown) => log.error({ err: error }, 'log upload failed'));
      // A folder the submission made that cannot be removed must not turn a settled job into a crash.
      if (!options.keepWorkspace)
        await rm(scope.dir, { recursive: true, force: true }).catch((error: unknown) =>
          log.error({ err: error, workspace: scope.dir }, 'workspace not removed'),
        );
      else log.info({ workspace: await keep(scope.dir, options.workerId) }, 'workspace kept');
      options.jobLog.close();
      if (!(options.keepLogUnlessFinished && last?.type !== 'finished'))
        await rm(logsDir, { recursive: true, force: true });
    });
  return usingResource(open$, (scope) => use(scope).pipe(tap((event) => (last = event))), release);
}

/** A kept workspace loses its owner's name, so no worker removes it once its owner is gone (where it can be renamed). */
async function keep(dir: string, owner: string): Promise<string> {
  const kept = path.join(path.dirname(dir), keptWorkspaceName(path.basename(dir), owner));
  return rename(dir, kept).then(
    () => kept,
    () => dir,
  );
}
