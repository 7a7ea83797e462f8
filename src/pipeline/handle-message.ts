import path from 'node:path';
import { concatMap, defer, from, last, type Observable, tap } from 'rxjs';
import type { Logger } from 'pino';
import { asWorkerError, type ErrorCode, ERROR_CODES } from '../domain/errors.js';
import { type Job, parseJobMessage, submissionIdOf } from '../domain/job.js';
import { createJobLogger } from '../logging.js';
import { alongside } from '../operators/alongside.js';
import type { HubApi } from '../ports/hub-api.js';
import type { JobQueue, QueueMessage } from '../ports/job-queue.js';
import { evaluateJob, type JobDeps } from './evaluate-job.js';
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

/** Failures of the worker's own infrastructure (uploads, downloads, the API): worth another try by a fresh worker. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(['wr_1', 'wr_2', 'wr_4', 'wr_5']);

async function rejectInvalid(message: QueueMessage, error: unknown, hub: HubApi, log: Logger): Promise<MessageOutcome> {
  const reason = asWorkerError(error);
  const submissionId = submissionIdOf(message.body);
  log.error({ code: reason.code, messageId: message.id, submissionId }, `invalid message: ${reason.message}`);
  if (submissionId !== undefined) {
    await hub.setStatus(submissionId, 'failed').catch((statusError: unknown) => log.error({ err: statusError }, 'could not set status failed'));
    await hub
      .reportBreakingError(submissionId, { error_code: reason.code, error_type: ERROR_CODES[reason.code], error_message: reason.message })
      .catch((reportError: unknown) => log.error({ err: reportError }, 'could not send the error report'));
  }
  return { action: 'deleted', submissionId, result: 'invalid' };
}

/** What to do with the message once its job settled. Pure. */
export function outcomeOf(job: Job, final: JobEvent, receiveCount: number, maxReceives: number): MessageOutcome {
  if (final.type === 'finished') return { action: 'deleted', submissionId: job.submissionId, result: 'finished' };
  if (final.type === 'failed' && TRANSIENT.has(final.error.code) && receiveCount < maxReceives) {
    return { action: 'released', submissionId: job.submissionId, code: final.error.code };
  }
  return { action: 'deleted', submissionId: job.submissionId, result: 'failed' };
}

/**
 * One queue message, start to end. The message stays invisible while the job runs and is deleted only once the job
 * settled: finished with results stored, or failed with the Hub told why. A job that failed on the worker's own
 * infrastructure goes back to the queue for a fresh worker, until it has been received maxReceives times. An invalid
 * body is reported (when a submission id can be read) and deleted, so it cannot loop.
 */
export function handleMessage(message: QueueMessage, deps: MessageDeps, onEvent: (event: JobEvent) => void = () => undefined): Observable<MessageOutcome> {
  const settle = async (outcome: MessageOutcome): Promise<MessageOutcome> => {
    if (outcome.action === 'deleted') await deps.queue.delete(message);
    else await deps.queue.release(message);
    deps.log.info({ messageId: message.id, ...outcome }, `message ${outcome.action}`);
    return outcome;
  };
  return defer(() => {
    let job: Job;
    try {
      job = parseJobMessage(message.body);
    } catch (error) {
      return from(rejectInvalid(message, error, deps.hub, deps.log).then(settle));
    }
    const logsDir = path.join(deps.workDir, `logs-${job.submissionId}-${Date.now()}`);
    const { log } = createJobLogger(deps.logLevel, job, logsDir, process.stdout);
    log.info({ messageId: message.id, receiveCount: message.receiveCount, pythonVersion: job.pythonVersion }, 'job received');
    return evaluateJob(job, log, logsDir, deps).pipe(
      tap(onEvent),
      last((event) => event.type === 'finished' || event.type === 'failed'),
      alongside(deps.heartbeat(message), (error) => log.warn({ err: error }, 'visibility heartbeat failed')),
      concatMap((final) => settle(outcomeOf(job, final, message.receiveCount, deps.maxReceives))),
    );
  });
}
