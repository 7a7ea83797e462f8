import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { messagesLeft, type World } from '../../spec/helpers/hub-world.js';
import { testSqsClient } from '../../spec/helpers/services.js';
import { Fleet } from './fleet.js';
import type { Interruption } from './plan.js';

/**
 * One phase of the soak: workers on the queue until it is empty and no worker holds a job (or the time limit), with
 * the planned interruptions sent mid-job on the way.
 */

export interface SentInterruption extends Interruption {
  readonly submissionId: number;
  /** Files the Hub had counted for this attempt when the signal was sent. */
  readonly filesTold: number;
  readonly exitSeconds: number | undefined;
  readonly exitCode: number | null | undefined;
}

export interface PhaseOptions {
  readonly workers: number;
  readonly env: Record<string, string>;
  readonly logDir: string;
  readonly timeLimitMs: number;
  readonly submissions: ReadonlySet<number>;
  readonly interruptions: readonly Interruption[];
  /** The task's files: an interruption lands while files still run (fewer told than this). */
  readonly fileCount: number;
  /** Files the Hub counted for a submission since a time: when the interruption's point is reached. */
  readonly filesToldSince: (submissionId: number, since: number) => number;
  /** Submissions with a final status: each interruption waits for its share of them. */
  readonly settled: () => number;
  readonly onProgress?: (line: string) => void;
}

export interface PhaseOutcome {
  readonly converged: boolean;
  readonly seconds: number;
  readonly fleet: Fleet;
  readonly interruptions: SentInterruption[];
}

const TICK_MS = 250;
/** The queue must stay empty, with no job held, for this long: a message a killed worker holds is counted in flight. */
const QUIET_MS = 5_000;
/** An interruption at 0 files waits this long after the receipt, so it lands in staging or the build. */
const STAGING_MS = 3_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runPhase(w: World, options: PhaseOptions): Promise<PhaseOutcome> {
  const fleet = new Fleet(w, options.env, options.logDir, options.submissions.size * 4 + 20);
  const started = Date.now();
  const deadline = started + options.timeLimitMs;
  const pending = [...options.interruptions];
  const sent: SentInterruption[] = [];
  const interrupted = new Set<number>();
  let quietSince: number | undefined;
  let lastReport = 0;
  let converged = false;
  fleet.start(options.workers);
  while (Date.now() < deadline) {
    await pause(TICK_MS);
    const next = pending[0];
    const share = Math.floor(((sent.length + 1) * options.submissions.size) / (options.interruptions.length + 2));
    if (next && options.settled() >= share) {
      const target = fleet.held().find((job) => {
        if (!options.submissions.has(job.submissionId) || interrupted.has(job.submissionId)) return false;
        const told = options.filesToldSince(job.submissionId, job.receivedAt);
        return next.afterFiles === 0
          ? told === 0 && Date.now() - job.receivedAt >= STAGING_MS
          : told >= next.afterFiles && told < options.fileCount;
      });
      if (target) {
        pending.shift();
        interrupted.add(target.submissionId);
        const filesTold = options.filesToldSince(target.submissionId, target.receivedAt);
        options.onProgress?.(`${next.signal} the worker of submission ${target.submissionId} after ${filesTold} files`);
        const signalledAt = Date.now();
        // Not awaited: the other slot works on meanwhile; the exit is filled in when it comes.
        void fleet.interrupt(target.slot, next.signal).then((exit) => {
          const index = sent.findIndex((entry) => entry.submissionId === target.submissionId);
          const entry = sent[index];
          if (entry) sent[index] = { ...entry, exitSeconds: (Date.now() - signalledAt) / 1000, exitCode: exit?.code };
        });
        sent.push({
          ...next,
          submissionId: target.submissionId,
          filesTold,
          exitSeconds: undefined,
          exitCode: undefined,
        });
      }
    }
    const left = await messagesLeft(w);
    const quiet = left === 0 && fleet.held().length === 0;
    quietSince = quiet ? (quietSince ?? Date.now()) : undefined;
    if (quietSince !== undefined && Date.now() - quietSince >= QUIET_MS) {
      converged = true;
      break;
    }
    if (Date.now() - lastReport >= 30_000) {
      lastReport = Date.now();
      options.onProgress?.(
        `${Math.round((Date.now() - started) / 1000)} s: ${options.settled()} of ${options.submissions.size} settled, ${left} messages left, ${fleet.started} workers started`,
      );
    }
  }
  const seconds = (Date.now() - started) / 1000;
  await fleet.stop();
  return { converged, seconds, fleet, interruptions: sent };
}

/**
 * The submission ids of the messages still on the queue, which are then deleted: waits up to `waitMs` for those in
 * flight (held by a killed worker) to come back.
 */
export async function drainQueue(w: World, waitMs: number): Promise<number[]> {
  const sqs = testSqsClient(w.services);
  const ids: number[] = [];
  const until = Date.now() + waitMs;
  while ((await messagesLeft(w)) > 0 && Date.now() < until) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: w.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
      }),
    );
    for (const message of Messages) {
      const id = Number((JSON.parse(message.Body ?? '{}') as { submission_pk?: unknown }).submission_pk);
      if (Number.isFinite(id)) ids.push(id);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: w.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return ids;
}
