import {
  asyncScheduler,
  catchError,
  defer,
  exhaustMap,
  from,
  map,
  type Observable,
  type ObservableInput,
  of,
  type SchedulerLike,
  takeWhile,
  timer,
} from 'rxjs';
import type { JobQueue, QueueMessage } from '../ports/job-queue.js';

/** SQS keeps a message invisible for at most 12 hours in all (contract §1). */
export const VISIBILITY_CAP_SECONDS = 43_200;

export interface HeartbeatOptions {
  /** Seconds asked for at each beat; the receive asked for the same. */
  readonly leaseSeconds: number;
  /** When the message was first received (ms, the scheduler's clock). */
  readonly firstReceivedAt: number;
  /** Defaults to half the lease, so one lost beat still leaves time for the next. */
  readonly intervalMs?: number;
  readonly capSeconds?: number;
}

/** One beat: the seconds granted, or the refusal (the next beat tries again). */
export type Beat =
  | { readonly kind: 'extended'; readonly seconds: number }
  | { readonly kind: 'refused'; readonly seconds: number; readonly error: unknown };

/**
 * Keeps a message invisible while it is subscribed: every interval it asks for another lease, never past the cap
 * counted from the first receipt (SQS refuses any extension past it), and completes after the beat that reaches the
 * cap. A refused beat is a value, not an error: the next beat tries again, so one lost request never costs the
 * message.
 *
 * The cap is counted from the message's *first* receipt: for a redelivered message that is earlier than this
 * receipt, so the heartbeat may stop early, but it never asks for time SQS would refuse. A job's own limit
 * (PVHUB_JOB_TIME_LIMIT, below 12 h) ends it before then on a first delivery.
 *
 * ```
 * lease 10 s, cap 22 s from first receipt (at 0):
 * extend:  -----10----10----10----(2|)      (at 5 s, 10 s, 15 s, 20 s)
 * ```
 */
export function visibilityHeartbeat(
  extend: (seconds: number) => ObservableInput<unknown>,
  options: HeartbeatOptions,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<Beat> {
  const intervalMs = options.intervalMs ?? Math.max(1_000, (options.leaseSeconds * 1000) / 2);
  const capSeconds = options.capSeconds ?? VISIBILITY_CAP_SECONDS;
  return defer(() => {
    // A first receipt reported in the future (clock skew between SQS and this host) counts from now.
    const anchor = Math.min(options.firstReceivedAt, scheduler.now());
    const ask = () => Math.min(options.leaseSeconds, Math.floor(capSeconds - (scheduler.now() - anchor) / 1000));
    return timer(intervalMs, intervalMs, scheduler).pipe(
      map(ask),
      takeWhile((seconds) => seconds > 0),
      // A slow answer must not stack requests: a beat while one is pending is skipped.
      exhaustMap((seconds) =>
        from(extend(seconds)).pipe(
          map((): Beat => ({ kind: 'extended', seconds })),
          catchError((error: unknown) => of<Beat>({ kind: 'refused', seconds, error })),
        ),
      ),
      // The granted beat that reaches the cap is the last one; a refused one is tried again at the next beat.
      takeWhile((beat) => beat.kind === 'refused' || beat.seconds >= options.leaseSeconds, true),
    );
  });
}

/** The heartbeat of a queue message: extends it through the queue. */
export function messageHeartbeat(
  queue: JobQueue,
  message: QueueMessage,
  leaseSeconds: number,
  scheduler?: SchedulerLike,
): Observable<Beat> {
  return visibilityHeartbeat(
    (seconds) => queue.extendVisibility(message, seconds),
    { leaseSeconds, firstReceivedAt: message.firstReceivedAt },
    scheduler,
  );
}
