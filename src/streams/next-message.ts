import { Observable } from 'rxjs';
import type { JobQueue, QueueMessage } from '../ports/job-queue.js';

/**
 * The next message of the queue: long-polls until one arrives, emits it and completes. A worker asks for a message
 * only when it can take one (subscribe again after the job), so nothing sits received-but-waiting while the
 * visibility clock runs. Unsubscribing aborts the poll under way.
 *
 * ```
 * polls:   --(empty)--(empty)--m
 * result:  --------------------(m|)
 * ```
 */
export function nextMessage(
  queue: JobQueue,
  waitSeconds: number,
  onEmptyPoll: () => void = () => undefined,
): Observable<QueueMessage> {
  return new Observable<QueueMessage>((subscriber) => {
    const abort = new AbortController();
    const poll = async () => {
      while (!abort.signal.aborted) {
        const message = await queue.receive(waitSeconds, abort.signal);
        if (message) return message;
        onEmptyPoll();
        // A zero wait would spin on an empty queue: one short poll a second is enough.
        if (waitSeconds === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      return undefined;
    };
    poll().then(
      (message) => {
        if (message) {
          subscriber.next(message);
          subscriber.complete();
        }
      },
      (error: unknown) => {
        if (!abort.signal.aborted) subscriber.error(error);
      },
    );
    return () => abort.abort();
  });
}
