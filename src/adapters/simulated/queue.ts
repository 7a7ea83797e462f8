import type { JobQueue, QueueMessage } from '../../ports/job-queue.js';

/**
 * A simulated queue that records what the worker does with its messages. A released message is handed out again,
 * received once more, as SQS does.
 */
export class RecordingQueue implements JobQueue {
  readonly actions: string[] = [];
  /** Called with each message handed out and each action taken on one (the playground's timeline). */
  onAction: (action: 'receive' | 'extend' | 'delete' | 'release', message: QueueMessage) => void = () => undefined;
  constructor(private readonly messages: QueueMessage[] = []) {}
  async receive(): Promise<QueueMessage | undefined> {
    const message = this.messages.shift();
    if (message) this.onAction('receive', message);
    return message;
  }
  async extendVisibility(message: QueueMessage): Promise<void> {
    this.record('extend', message);
  }
  async delete(message: QueueMessage): Promise<void> {
    this.record('delete', message);
  }
  async release(message: QueueMessage): Promise<void> {
    this.record('release', message);
    this.messages.push({ ...message, receiveCount: message.receiveCount + 1 });
  }
  private record(action: 'extend' | 'delete' | 'release', message: QueueMessage): void {
    this.actions.push(action);
    this.onAction(action, message);
  }
}
