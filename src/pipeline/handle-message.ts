import { rmSync } from 'node:fs';
import path from 'node:path';
import { concatMap, defer, finalize, from, last, type Observable, tap } from 'rxjs';
import type { Logger } from 'pino';
import { asWorkerError, type ErrorCode, WorkerError } from '../domain/errors.js';
import { type Job, parseJobMessage, submissionIdOf } from '../domain/job.js';
import { createJobLogger } from '../logging.js';
import { alongside } from '../operators/alongside.js';
import type { JobQueue, QueueMessage } from '../ports/job-queue.js';
import { VISIBILITY_CAP_SECONDS } from '../streams/visibility-heartbeat.js';
import { evaluateJob, type JobDeps, reportFailure } from './evaluate-job.js';
import type { JobEvent } from './events.js';

export interface MessageDeps extends JobDeps {
  readonly queue: JobQueue;
  /** Extends the message's visibility for as long as it is subscribed. */
  readonly heartbeat: (message: QueueMessage) => Observable<unknown>;
  /** A message received this many times is settled (failed and deleted) instead of retried again. */
  readonly maxReceives: number;
  readonly logLevel: string;
  readonly log: Logger;
}

export type MessageOutcome =
  | { readonly action: 'deleted'; readonly submissionId: number | undefined; readonly result: 'finished' | 'failed' | 'invalid' }
  | { readonly action: 'released'; readonly submissionId: number; readonly code: ErrorCode };

/** Time kept between a job's end and the visibility cap, for the final status, the uploads and the delete. */
const SETTLE_MARGIN_MS = 15 * 60_000;

/**
 * How long the job may run: the configured limit, or less when the message's 12-hour visibility cap, counted from
 * its first receipt, comes first (a redelivered message has less left), so no job outlives its lease. Pure.
 */
export function jobTimeBudget(message: QueueMessage, jobTimeLimitMs: number, now: number): number {
  return Math.min(jobTimeLimitMs, VISIBILITY_CAP_SECONDS * 1000 - (now - message.firstReceivedAt) - SETTLE_MARGIN_MS);
}

/**
 * Why a message must be settled at once instead of run, if it must. A message handed out more often than
 * maxReceives was taken by workers that stopped without settling it (killed, out of memory, host lost): running it
 * again would likely end the same way, and it would hold the queue's single message group meanwhile. Pure.
 */
export function receiptRefusal(message: QueueMessage, maxReceives: number, budgetMs: number): WorkerError | undefined {
  if (message.receiveCount > maxReceives) {
    return new WorkerError('wr_500', `the submission was taken ${message.receiveCount} times and no worker finished it (each stopped mid-job: killed, out of memory, or its host lost)`);
  }
  if (budgetMs <= 0) return new WorkerError('op_500', 'the message has spent its 12 hours of queue visibility; the job cannot be run again');
  return undefined;
}

/** What to do with the message once its job settled. Pure. */
export function outcomeOf(job: Pick<Job, 'submissionId'>, final: JobEvent, receiveCount: number, maxReceives: number): MessageOutcome {
  if (final.type === 'finished') return { action: 'deleted', submissionId: job.submissionId, result: 'finished' };
  // The Hub not told (unreachable) is worth another worker's try while tries remain: deleting would leave it
  // reading "running" for good.
  if (final.type === 'failed' && (final.retry || (!final.told && receiveCount < maxReceives))) {
    return { action: 'released', submissionId: job.submissionId, code: final.error.code };
  }
  return { action: 'deleted', submissionId: job.submissionId, result: 'failed' };
}

/**
 * One queue message, start to end. The message stays invisible while the job runs and is deleted only once the job
 * settled: finished with results stored, or failed with the Hub told why. A job that failed on the worker's own
 * infrastructure goes back to the queue untold, for a fresh worker, until it has been received maxReceives times;
 * only the last try reports it failed. An invalid body is reported (when a submission id can be read) and deleted,
 * so it cannot loop; so is a message received too often, or too late to run.
 */
export function handleMessage(message: QueueMessage, deps: MessageDeps, onEvent: (event: JobEvent) => void = () => undefined): Observable<MessageOutcome> {
  const settle = async (outcome: MessageOutcome): Promise<MessageOutcome> => {
    if (outcome.action === 'deleted') await deps.queue.delete(message);
    else await deps.queue.release(message);
    deps.log.info({ messageId: message.id, ...outcome }, `message ${outcome.action}`);
    return outcome;
  };
  /**
   * Settled without running: the Hub told when a submission id can be read, then the message deleted; released
   * instead when the Hub could not be reached, so the submission does not read "running" for good (nothing runs on
   * the next receipt either, and a dead-letter queue ends it).
   */
  const refuse = async (error: unknown, result: 'failed' | 'invalid'): Promise<MessageOutcome> => {
    const reason = asWorkerError(error);
    const submissionId = submissionIdOf(message.body);
    deps.log.error({ code: reason.code, messageId: message.id, submissionId, receiveCount: message.receiveCount }, `message refused: ${reason.message}`);
    if (submissionId === undefined) return settle({ action: 'deleted', submissionId, result });
    const told = await reportFailure(deps.hub, submissionId, reason, deps.log);
    return settle(told ? { action: 'deleted', submissionId, result } : { action: 'released', submissionId, code: reason.code });
  };
  return defer(() => {
    let job: Job;
    try {
      job = parseJobMessage(message.body);
    } catch (error) {
      return from(refuse(error, 'invalid'));
    }
    const budgetMs = jobTimeBudget(message, deps.jobTimeLimitMs, Date.now());
    const refusal = receiptRefusal(message, deps.maxReceives, budgetMs);
    if (refusal !== undefined) return from(refuse(refusal, 'failed'));
    const logsDir = path.join(deps.workDir, `logs-${job.submissionId}-${Date.now()}`);
    const { log, close } = createJobLogger(deps.logLevel, job, logsDir, process.stdout);
    log.info({ messageId: message.id, receiveCount: message.receiveCount, pythonVersion: job.pythonVersion, budgetMs }, 'job received');
    const jobDeps: JobDeps = {
      ...deps,
      jobTimeLimitMs: budgetMs,
      retryLater: (error) => error.retryable && message.receiveCount < deps.maxReceives,
    };
    return evaluateJob(job, log, logsDir, jobDeps).pipe(
      tap(onEvent),
      last((event) => event.type === 'finished' || event.type === 'failed'),
      alongside(deps.heartbeat(message), (error) => log.warn({ err: error }, 'visibility heartbeat failed')),
      concatMap((final) => settle(outcomeOf(job, final, message.receiveCount, deps.maxReceives))),
      // The job's log was uploaded by the job itself; a worker serving many messages keeps none of them.
      finalize(() => {
        close();
        rmSync(logsDir, { recursive: true, force: true });
      }),
    );
  });
}
