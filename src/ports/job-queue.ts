/** A received message, still owned by the queue until acknowledged. */
export interface QueueMessage {
  readonly id: string;
  readonly body: string;
  readonly receiptHandle: string;
  /** Times the queue has handed this message out, this one included. */
  readonly receiveCount: number;
  readonly firstReceivedAt: number;
}

export interface JobQueue {
  /** Long-polls for at most one message; resolves undefined when none arrived within the wait. */
  receive(waitSeconds: number, signal: AbortSignal): Promise<QueueMessage | undefined>;
  /** Keeps the message invisible for this many more seconds from now. */
  extendVisibility(message: QueueMessage, seconds: number): Promise<void>;
  delete(message: QueueMessage): Promise<void>;
  /** Makes the message visible again at once (a job given back). */
  release(message: QueueMessage): Promise<void>;
}
