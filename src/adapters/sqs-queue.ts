import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { AwsSettings } from '../config.js';
import { WorkerError } from '../domain/errors.js';
import type { JobQueue, QueueMessage } from '../ports/job-queue.js';

export interface SqsJobQueueOptions {
  readonly queueName: string;
  /** Create the queue when it does not exist (local stacks); in production a missing queue is an error. */
  readonly createQueue: boolean;
  /** Visibility asked for at receipt; the heartbeat extends it from there. */
  readonly leaseSeconds: number;
}

/** An SQS client for the configured region and endpoint; a custom endpoint is a local server (ElasticMQ). */
export function createSqsClient(aws: AwsSettings): SQSClient {
  return new SQSClient({
    region: aws.region,
    ...(aws.sqsEndpoint ? { endpoint: aws.sqsEndpoint } : {}),
    ...(aws.localCredentials ? { credentials: aws.localCredentials } : {}),
  });
}

/** The SDK reports a missing queue under the JSON protocol's name or, from older servers, the query one. */
function isMissingQueue(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

/**
 * The Hub's submission queue (contract §1) over SQS. The queue URL is looked up by name once; a queue that does not
 * exist is created only when configured to, as a FIFO queue with content-based deduplication off, as the API sends
 * a deduplication id per submission.
 */
export class SqsJobQueue implements JobQueue {
  private url: Promise<string> | undefined;

  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsJobQueueOptions,
  ) {}

  queueUrl(): Promise<string> {
    this.url ??= this.resolveUrl().catch((error: unknown) => {
      // A failed lookup must not stick: the next receive tries again.
      this.url = undefined;
      throw error;
    });
    return this.url;
  }

  private async resolveUrl(): Promise<string> {
    const name = this.options.queueName;
    try {
      const found = await this.client.send(new GetQueueUrlCommand({ QueueName: name }));
      if (found.QueueUrl) return found.QueueUrl;
    } catch (error) {
      if (!isMissingQueue(error))
        throw new WorkerError('wr_1', `looking up queue ${name} failed: ${(error as Error).message}`, { cause: error });
    }
    if (!this.options.createQueue) throw new WorkerError('wr_1', `no queue ${name}`);
    const created = await this.client.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          ...(name.endsWith('.fifo') ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {}),
          // The Hub's queue keeps messages 4 days (contract §1).
          MessageRetentionPeriod: '345600',
        },
      }),
    );
    if (!created.QueueUrl) throw new WorkerError('wr_1', `creating queue ${name} returned no URL`);
    return created.QueueUrl;
  }

  async receive(waitSeconds: number, signal: AbortSignal): Promise<QueueMessage | undefined> {
    const QueueUrl = await this.queueUrl();
    const answer = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: this.options.leaseSeconds,
        // The newer name of the receive's AttributeNames for these two.
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'],
      }),
      { abortSignal: signal },
    );
    const message = answer.Messages?.[0];
    if (!message?.ReceiptHandle) return undefined;
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount);
    const firstReceivedAt = Number(message.Attributes?.ApproximateFirstReceiveTimestamp);
    return {
      id: message.MessageId ?? message.ReceiptHandle,
      body: message.Body ?? '',
      receiptHandle: message.ReceiptHandle,
      receiveCount: Number.isFinite(receiveCount) && receiveCount > 0 ? receiveCount : 1,
      firstReceivedAt: Number.isFinite(firstReceivedAt) && firstReceivedAt > 0 ? firstReceivedAt : Date.now(),
    };
  }

  async extendVisibility(message: QueueMessage, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: await this.queueUrl(),
        ReceiptHandle: message.receiptHandle,
        VisibilityTimeout: Math.floor(seconds),
      }),
    );
  }

  async delete(message: QueueMessage): Promise<void> {
    await this.client.send(
      new DeleteMessageCommand({ QueueUrl: await this.queueUrl(), ReceiptHandle: message.receiptHandle }),
    );
  }

  async release(message: QueueMessage): Promise<void> {
    await this.extendVisibility(message, 0);
  }
}
