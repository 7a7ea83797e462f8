import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fromEvent, lastValueFrom, takeUntil, tap, toArray } from 'rxjs';
import { DirectoryPublisher } from './adapters/directory-publisher.js';
import { DockerEngine } from './adapters/docker-engine.js';
import { DockerImageBuilder } from './adapters/images/docker-image-builder.js';
import { LocalHubApi } from './adapters/local-hub-api.js';
import { LocalTaskStore } from './adapters/local-task-store.js';
import { basePythons, HUB_PYTHON_VERSIONS } from './adapters/python-versions.js';
import type { WorkerConfig } from './config.js';
import { memoryBudget } from './domain/memory-budget.js';
import type { Job } from './domain/job.js';
import { WorkerError } from './domain/errors.js';
import { createJobLogger } from './logging.js';
import type { JobEvent } from './pipeline/events.js';
import { evaluateJob, jobLabels } from './pipeline/evaluate-job.js';
import { removeJobContainers } from './pipeline/remove-job-containers.js';
import { removeJobWorkspaces } from './pipeline/workspace.js';
import { readMemory } from './streams/memory-readings.js';

/**
 * Python versions a local evaluation may ask for: the Hub's (their base images pulled, or built from Debian where
 * it ships them), and those container/base/python-versions.json can build.
 */
export const LOCAL_PYTHON_VERSIONS = [...new Set([...HUB_PYTHON_VERSIONS, ...Object.keys(basePythons())])];

export interface EvaluateOptions {
  readonly taskDir: string;
  readonly submission: string;
  readonly outDir: string;
  readonly pythonVersion: string;
  readonly keepWorkspace: boolean;
  readonly onEvent: (event: JobEvent) => void;
  /** Aborting it (Ctrl-C) stops the run: its containers are removed, no output is written. */
  readonly signal: AbortSignal;
}

export type EvaluateOutcome = Extract<JobEvent, { type: 'finished' | 'failed' }>;

/** The outcome; after a failure also the job's log, kept in the work folder as the output folder was not written. */
export type EvaluateResult = EvaluateOutcome & { readonly keptLog?: string };

export function freeMemoryFor(config: WorkerConfig): () => number {
  return () => memoryBudget(readMemory(), config.limits.memoryReserveBytes);
}

/**
 * `pvhub-worker evaluate`: one submission against a task folder, with no queue, bucket or API; the output folder is
 * written whole or not at all.
 */
export async function runEvaluate(config: WorkerConfig, options: EvaluateOptions): Promise<EvaluateResult> {
  const taskDir = path.resolve(options.taskDir);
  const submission = path.resolve(options.submission);
  const outDir = path.resolve(options.outDir);
  await mkdir(config.workDir, { recursive: true });
  const job: Job = {
    analysisId: 1,
    submissionId: process.pid,
    userId: os.userInfo().username,
    submissionFilename: path.basename(submission),
    pythonVersion: options.pythonVersion,
  };
  const logsDir = path.join(config.workDir, `logs-${process.pid}-${Date.now()}`);
  const { log, file: logFile, close } = createJobLogger(config.logLevel, job, logsDir);
  log.info({ taskDir, submission, outDir }, 'local evaluation');
  const publisher = new DirectoryPublisher(outDir);
  const engine = new DockerEngine();
  const events = await lastValueFrom(
    evaluateJob(job, log, logsDir, {
      store: new LocalTaskStore(taskDir, submission),
      hub: new LocalHubApi(taskDir, log, LOCAL_PYTHON_VERSIONS),
      engine,
      publisher,
      limits: config.limits,
      jobTimeLimitMs: config.jobTimeLimitMs,
      workDir: config.workDir,
      freeMemory: freeMemoryFor(config),
      keepWorkspace: options.keepWorkspace,
      images: new DockerImageBuilder({ engine, limits: config.limits, hostPython: config.hostPython, baseImageRepository: config.baseImageRepository }),
    }).pipe(tap(options.onEvent), takeUntil(fromEvent(options.signal, 'abort')), toArray()),
  );
  if (options.signal.aborted) {
    // Unsubscribed, the runs are aborting; a container created in that moment is caught by the repeated removal.
    await removeJobContainers(engine, jobLabels(job), log);
    if (!options.keepWorkspace) await removeJobWorkspaces(config.workDir, job.submissionId);
    await publisher.discard();
    close();
    return { type: 'failed', error: new WorkerError('wr_500', `stopped (${String(options.signal.reason)}); no output written`), retry: false, told: false, keptLog: logFile };
  }
  const outcome = events.find((event): event is EvaluateOutcome => event.type === 'finished' || event.type === 'failed');
  close();
  if (outcome?.type === 'finished') {
    await publisher.commit();
    // Copied into the output folder with the results.
    await rm(logsDir, { recursive: true, force: true });
    return outcome;
  }
  await publisher.discard();
  return { ...(outcome ?? { type: 'failed', error: new WorkerError('wr_500', 'the job ended without a result'), retry: false, told: false }), keptLog: logFile };
}
