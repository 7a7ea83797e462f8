import path from 'node:path';
import { catchError, concatMap, defer, from, last, type Observable, of, tap } from 'rxjs';
import type { Logger } from 'pino';
import { asWorkerError, type ErrorCode, WorkerError } from '../domain/errors.js';
import { type Job, parseJobMessage, submissionIdOf } from '../domain/job.js';
import { receiptsSpent } from '../domain/ledger.js';
import { isOutcome, type JobEvent, type JobOutcome } from '../domain/job-event.js';
import type { EgressSettings } from '../domain/egress-policy.js';
import type { ResourceLimits } from '../domain/limits.js';
import { ownedLogFolder } from '../domain/ownership.js';
import { createJobLogger } from '../logging.js';
import type { JobLedger } from '../ports/job-ledger.js';
import type { JobQueue, QueueMessage } from '../ports/job-queue.js';
import { reportFailure } from '../sinks/hub-failure.js';
import { LedgerSession } from '../sinks/ledger-session.js';
import { writeJobRecord } from '../sinks/job-record.js';
import { VISIBILITY_CAP_SECONDS } from '../streams/visibility-heartbeat.js';
import { alongside } from './alongside.js';
import { summarizeJob } from './summarize-job.js';
import { evaluateSubmission, type JobPorts } from './evaluate-submission.js';

export interface MessagePorts extends Omit<JobPorts, 'ledger'> {
  readonly queue: JobQueue;
  /** Extends the message's visibility for as long as it is subscribed. */
  readonly heartbeat: (message: QueueMessage) => Observable<unknown>;
  /** Where each submission's ledger outlives the attempts at its job. */
  readonly ledgers: JobLedger;
}

export interface MessageOptions {
  readonly limits: ResourceLimits;
  readonly jobTimeLimitMs: number;
  readonly egress?: EgressSettings;
  /** A message that spent this many tries (domain/ledger.ts `receiptsSpent`) is settled (failed and deleted) instead. */
  readonly maxReceives: number;
  readonly workDir: string;
  /** This worker (see domain/ownership.ts): its jobs' containers, workspaces and logs carry it. */
  readonly workerId: string;
  readonly keepWorkspace: boolean;
  readonly logLevel: string;
  /** The worker's own logger; each job logs to a file of its own, and to `jobConsole` when given. */
  readonly log: Logger;
  readonly jobConsole?: NodeJS.WritableStream;
  /** Aborting it (SIGTERM) stops the job under way; its message is then released for another worker. */
  readonly signal: AbortSignal;
}

export type MessageOutcome =
  | {
      readonly action: 'deleted';
      readonly submissionId: number | undefined;
      readonly result: 'finished' | 'failed' | 'invalid';
    }
  | { readonly action: 'released'; readonly submissionId: number; readonly code: ErrorCode }
  | { readonly action: 'released'; readonly submissionId: number; readonly stoppedBy: string };

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
 * Why a message must be settled at once instead of run, if it must. A message whose receipts spent more than
 * maxReceives tries (domain/ledger.ts `receiptsSpent`) was taken by workers that stopped without settling it
 * (killed, out of memory, host lost): running it again would likely end the same way, and it would hold the queue's
 * single message group meanwhile. Pure.
 */
export function receiptRefusal(
  message: QueueMessage,
  spent: number,
  maxReceives: number,
  budgetMs: number,
): WorkerError | undefined {
  if (spent > maxReceives) {
    const handedBack = message.receiveCount - spent;
    return new WorkerError(
      'wr_500',
      `the submission was taken ${message.receiveCount} times${handedBack > 0 ? ` (${handedBack} handed back on a stop)` : ''} and no worker finished it (each stopped mid-job: killed, out of memory, or its host lost)`,
    );
  }
  if (budgetMs <= 0)
    return new WorkerError(
      'op_500',
      'the message has spent its 12 hours of queue visibility; the job cannot be run again',
    );
  return undefined;
}

/** What to do with the message once its job settled. Pure. */
export function outcomeOf(
  job: Pick<Job, 'submissionId'>,
  final: JobOutcome,
  spent: number,
  maxReceives: number,
): MessageOutcome {
  if (final.type === 'finished') return { action: 'deleted', submissionId: job.submissionId, result: 'finished' };
  if (final.type === 'cancelled')
    return { action: 'released', submissionId: job.submissionId, stoppedBy: final.reason };
  // The Hub not told (unreachable) is worth another worker's try while tries remain: deleting would leave it
  // reading "running" for good.
  if (final.retry || (!final.told && spent < maxReceives)) {
    return { action: 'released', submissionId: job.submissionId, code: final.error.code };
  }
  return { action: 'deleted', submissionId: job.submissionId, result: 'failed' };
}

/**
 * One queue message, start to end. The message stays invisible while the job runs and is deleted only once the job
 * settled: finished with results stored, or failed with the Hub told why. A job that failed on the worker's own
 * infrastructure goes back to the queue untold, for a fresh worker, until it has spent maxReceives tries; only the
 * last try reports it failed. A job stopped by the signal goes back too, marked in the ledger as no try spent. An
 * invalid body is reported (when a submission id can be read) and deleted, so it cannot loop; so is a message that
 * spent too many tries, or came too late to run.
 */
export function settleMessage(
  message: QueueMessage,
  ports: MessagePorts,
  options: MessageOptions,
  onEvent: (event: JobEvent) => void = () => undefined,
): Observable<MessageOutcome> {
  const settle = async (outcome: MessageOutcome): Promise<MessageOutcome> => {
    if (outcome.action === 'deleted') await ports.queue.delete(message);
    else await ports.queue.release(message);
    options.log.info(
      { messageId: message.id, ...outcome },
      outcome.action === 'deleted' ? 'message deleted' : 'message released for another worker',
    );
    return outcome;
  };
  /**
   * Settled without running: the Hub told when a submission id can be read, then the message deleted; released
   * instead when the Hub could not be reached, so the submission does not read "running" for good (nothing runs on
   * the next receipt either, and a dead-letter queue ends it).
   */
  const settleUnrun = async (error: unknown, result: 'failed' | 'invalid'): Promise<MessageOutcome> => {
    const reason = asWorkerError(error);
    const submissionId = submissionIdOf(message.body);
    options.log.error(
      { code: reason.code, messageId: message.id, submissionId, receiveCount: message.receiveCount },
      `message refused: ${reason.message}`,
    );
    if (submissionId === undefined) return settle({ action: 'deleted', submissionId, result });
    const told = await reportFailure(ports.hub, submissionId, reason, options.log);
    return settle(
      told ? { action: 'deleted', submissionId, result } : { action: 'released', submissionId, code: reason.code },
    );
  };
  return defer(() => {
    let job: Job;
    try {
      job = parseJobMessage(message.body);
    } catch (error) {
      return from(settleUnrun(error, 'invalid'));
    }
    options.log.info(
      { messageId: message.id, submissionId: job.submissionId, receiveCount: message.receiveCount },
      'job received',
    );
    return from(LedgerSession.open(ports.ledgers, job, options.log)).pipe(
      catchError((error: unknown) => {
        options.log.error({ err: error, submissionId: job.submissionId }, 'the job cannot start without its ledger');
        return of(undefined);
      }),
      concatMap((ledger) => {
        if (ledger === undefined)
          return from(settle({ action: 'released', submissionId: job.submissionId, code: 'wr_2' }));
        const final = ledger.finalStatus;
        // An earlier attempt gave the Hub the final status and did not delete the message (its delete was lost, or it
        // died right after): running again would undo it.
        if (final !== undefined)
          return from(settle({ action: 'deleted', submissionId: job.submissionId, result: final }));
        const spent = receiptsSpent(message.receiveCount, ledger.stopsBefore, options.maxReceives);
        const budgetMs = jobTimeBudget(message, options.jobTimeLimitMs, Date.now());
        const refusal = receiptRefusal(message, spent, options.maxReceives, budgetMs);
        if (refusal !== undefined) return from(settleUnrun(refusal, 'failed'));
        options.log.info(
          { submissionId: job.submissionId, spent, pythonVersion: job.pythonVersion, budgetMs },
          'job starts',
        );
        return runJob(job, ledger, spent, budgetMs);
      }),
    );
  });

  function runJob(job: Job, ledger: LedgerSession, spent: number, budgetMs: number): Observable<MessageOutcome> {
    const startedAt = Date.now();
    const logsDir = path.join(options.workDir, ownedLogFolder(job.submissionId, options.workerId, startedAt));
    const jobLog = createJobLogger(options.logLevel, job, logsDir, options.jobConsole);
    // Should this worker die, the one that cleans up after it uploads the log where the job's logs go.
    writeJobRecord(logsDir, { job, worker: options.workerId, startedAt });
    const jobOptions = {
      ...options,
      jobLog,
      keepLogUnlessFinished: false,
      timeLimitMs: budgetMs,
      retryLater: (error: WorkerError) => error.retryable && spent < options.maxReceives,
    };
    return evaluateSubmission(job, { ...ports, ledger }, jobOptions).pipe(
      tap(onEvent),
      summarizeJob(job, (summary) => options.log.info(summary)),
      last(isOutcome),
      alongside(ports.heartbeat(message), (error) =>
        options.log.warn({ err: error, messageId: message.id }, 'visibility heartbeat failed'),
      ),
      concatMap(async (final) => {
        if (final.type === 'cancelled') await markStopped(ledger, job);
        return settle(outcomeOf(job, final, spent, options.maxReceives));
      }),
    );
  }

  /** A stopped attempt failed nothing: marked so, it leaves the job its tries. Unmarked, it merely counts as one. */
  async function markStopped(ledger: LedgerSession, job: Job): Promise<void> {
    await ledger
      .recordStop()
      .catch((error: unknown) =>
        options.log.warn(
          { err: error, submissionId: job.submissionId },
          'could not mark the attempt as stopped; it counts as one of the tries',
        ),
      );
  }
}
