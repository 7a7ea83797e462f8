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
import { isAbortError } from '../domain/retry.js';
import type { JobQueue, QueueMessage } from '../ports/job-queue.js';
import { anySignal } from '../signals.js';

export interface SqsJobQueueOptions {
  readonly queueName: string;
  /** Create the queue when it does not exist (local stacks); in production a missing queue is an error. */
  readonly createQueue: boolean;
  /** Visibility asked for at receipt; the heartbeat extends it from there. */
  readonly leaseSeconds: number;
  /** The answer limit of the client, which a receive's long poll adds its wait to. */
  readonly answerMs: number;
  /** Aborting it abandons every request under way and every one to come, and their retries (a stop's deadline). */
  readonly signal?: AbortSignal;
}

/**
 * Tries of each request, the first included: the SDK's standard retry strategy tries again after a time-out, a
 * broken connection, a 5xx or throttling, with jittered backoff.
 */
export const SQS_ATTEMPTS = 3;

/**
 * An SQS client for the configured region and endpoint; a custom endpoint is a local server (ElasticMQ). Each request
 * must connect within `connectMs` and be answered within `answerMs` (a receive gets its long poll's wait on top, see
 * SqsJobQueue.receive); the socket may stay silent that long plus the longest wait, as a long poll's does.
 */
export function createSqsClient(aws: AwsSettings, longestWaitSeconds: number): SQSClient {
  const { connectMs, answerMs } = aws.timeouts;
  return new SQSClient({
    region: aws.region,
    maxAttempts: SQS_ATTEMPTS,
    requestHandler: {
      connectionTimeout: connectMs,
      requestTimeout: answerMs,
      // Without it the answer's limit only logs a warning.
      throwOnRequestTimeout: true,
      socketTimeout: answerMs + longestWaitSeconds * 1000,
    },
    ...(aws.sqsEndpoint ? { endpoint: aws.sqsEndpoint } : {}),
    ...(aws.localCredentials ? { credentials: aws.localCredentials } : {}),
  });
}

/** The SDK reports a missing queue under the JSON protocol's name or, from older servers, the query one. */
function isMissingQueue(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

function isGoneReceipt(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  return (
    name === 'ReceiptHandleIsInvalid' ||
    (name === 'InvalidParameterValue' && /receipt ?handle/i.test((error as Error).message))
  );
}

/** The SDK counts the tries of a failed request in its metadata. */
function triesOf(error: unknown): string {
  const attempts = (error as { $metadata?: { attempts?: unknown } }).$metadata?.attempts;
  return typeof attempts === 'number' ? ` after ${attempts} tries` : '';
}

type Send<T> = (abortSignal: AbortSignal | undefined) => Promise<T>;

/**
 * The Hub's submission queue (contract §1) over SQS. The queue URL is looked up by name once; a queue that does not
 * exist is created only when configured to, as a FIFO queue with content-based deduplication off, as the API sends
 * a deduplication id per submission. A request that fails after the SDK's tries is a WorkerError of ours.
 */
export class SqsJobQueue implements JobQueue {
  private url: Promise<string> | undefined;

  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsJobQueueOptions,
  ) {}

  /** One request, with the queue's signal joined to the caller's; an abort and a typed failure pass as they are. */
  private async call<T>(what: string, send: Send<T>, caller?: AbortSignal): Promise<T> {
    try {
      return await send(anySignal(this.options.signal, caller));
    } catch (error) {
      if (isAbortError(error) || error instanceof WorkerError) throw error;
      throw new WorkerError('wr_500', `SQS ${what} failed${triesOf(error)}: ${(error as Error).message}`, {
        cause: error,
        retryable: true,
      });
    }
  }

  queueUrl(): Promise<string> {
    this.url ??= this.call('queue lookup', (abortSignal) => this.resolveUrl(abortSignal)).catch((error: unknown) => {
      // A failed lookup must not stick: the next receive tries again.
      this.url = undefined;
      throw error;
    });
    return this.url;
  }

  private async resolveUrl(abortSignal: AbortSignal | undefined): Promise<string> {
    const name = this.options.queueName;
    try {
      const found = await this.client.send(new GetQueueUrlCommand({ QueueName: name }), { abortSignal });
      if (found.QueueUrl) return found.QueueUrl;
    } catch (error) {
      if (isAbortError(error)) throw error;
      if (!isMissingQueue(error))
        throw new WorkerError('wr_1', `looking up queue ${name} failed${triesOf(error)}: ${(error as Error).message}`, {
          cause: error,
        });
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
      { abortSignal },
    );
    if (!created.QueueUrl) throw new WorkerError('wr_1', `creating queue ${name} returned no URL`);
    return created.QueueUrl;
  }

  async receive(waitSeconds: number, signal: AbortSignal): Promise<QueueMessage | undefined> {
    const QueueUrl = await this.queueUrl();
    const answer = await this.call(
      'receive',
      (abortSignal) =>
        this.client.send(
          new ReceiveMessageCommand({
            QueueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: waitSeconds,
            VisibilityTimeout: this.options.leaseSeconds,
            // The newer name of the receive's AttributeNames for these two.
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'],
          }),
          // The answer comes when a message does or the wait is over: its limit starts after the wait.
          { abortSignal, requestTimeout: waitSeconds * 1000 + this.options.answerMs },
        ),
      signal,
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
    const QueueUrl = await this.queueUrl();
    await this.call('visibility change', (abortSignal) =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl,
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: Math.floor(seconds),
        }),
        { abortSignal },
      ),
    );
  }

  /**
   * A receipt handle the queue no longer knows means an earlier try of this delete landed and its answer was lost
   * (or the message is gone otherwise): the delete is done either way.
   */
  async delete(message: QueueMessage): Promise<void> {
    const QueueUrl = await this.queueUrl();
    await this.call('delete', async (abortSignal) => {
      try {
        await this.client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.receiptHandle }), {
          abortSignal,
        });
      } catch (error) {
        if (!isGoneReceipt(error)) throw error;
      }
    });
  }

  async release(message: QueueMessage): Promise<void> {
    await this.extendVisibility(message, 0);
  }
}
