import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import type { WorkerConfig } from './config.js';
import { WorkerError } from './domain/errors.js';
import type { Job } from './domain/job.js';
import type { JobEvent, JobOutcome } from './domain/job-event.js';
import { holdOwnerMark } from './adapters/owner-mark.js';
import { createJobLogger } from './logging.js';
import { evaluateSubmission } from './operators/evaluate-submission.js';
import { MemoryLedger } from './adapters/memory-ledger.js';
import { LedgerSession } from './sinks/ledger-session.js';
import { localPorts } from './wiring.js';

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

/** The outcome; after a failure also the job's log, kept in the work folder as the output folder was not written. */
export type EvaluateResult =
  Extract<JobOutcome, { type: 'finished' }> | (Extract<JobOutcome, { type: 'failed' }> & { readonly keptLog: string });

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
  const jobLog = createJobLogger(config.logLevel, job, path.join(config.workDir, `logs-${process.pid}-${Date.now()}`));
  jobLog.log.info({ taskDir, submission, outDir }, 'local evaluation');
  const { ports, publisher } = localPorts(config, taskDir, submission, outDir, jobLog.log);
  // A local run has no second attempt: its ledger lives as long as it does.
  const ledger = LedgerSession.fresh(new MemoryLedger(), job);
  // Its containers carry an owner as a worker's do, so a worker on this engine leaves them alone while it runs.
  const owner = await holdOwnerMark(config.workDir);
  const outcome = await lastValueFrom(
    evaluateSubmission(
      job,
      { ...ports, ledger },
      {
        limits: config.limits,
        timeLimitMs: config.jobTimeLimitMs,
        egress: config.egress,
        workDir: config.workDir,
        workerId: owner.id,
        keepWorkspace: options.keepWorkspace,
        jobLog,
        keepLogUnlessFinished: true,
        signal: options.signal,
      },
    ).pipe(tap(options.onEvent)),
    { defaultValue: undefined },
  ).finally(owner.release);
  if (outcome?.type === 'finished') {
    await publisher.commit();
    return outcome;
  }
  await publisher.discard();
  const failure: Extract<JobOutcome, { type: 'failed' }> =
    outcome?.type === 'failed'
      ? outcome
      : {
          type: 'failed',
          error: new WorkerError(
            'wr_500',
            outcome?.type === 'cancelled'
              ? `stopped (${outcome.reason}); no output written`
              : 'the job ended without a result',
          ),
          retry: false,
          told: false,
        };
  return { ...failure, keptLog: jobLog.file };
}
