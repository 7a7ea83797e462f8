import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { AwsSettings } from '../config.js';
import { type ErrorCode, WorkerError } from '../domain/errors.js';
import { DEFAULT_RETRY, isAbortError, isNetworkError, retrying, type RetryPolicy } from '../domain/retry.js';
import { ObjectNotFoundError, type ObjectStore } from '../ports/object-store.js';
import { anySignal } from '../signals.js';

const ignore = () => undefined;
const SILENT = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

/**
 * An S3 client for the configured region and endpoint. A custom endpoint is an S3-compatible server, which
 * addresses buckets by path. The SDK's own retries are off: S3ObjectStore retries whole transfers (a download that
 * breaks or stalls mid-body is retried too, which the SDK cannot do), and one policy is easier to reason about than
 * two nested.
 *
 * Each request must connect within `connectMs` and be answered within `answerMs`; the socket's idle limit, of the
 * same length, is what guards a body, in either direction, so a large transfer is never cut while its bytes flow.
 * The answer's limit throws only with throwOnRequestTimeout: without it the handler merely warns.
 */
export function createS3Client(aws: AwsSettings): S3Client {
  const { connectMs, answerMs } = aws.timeouts;
  return new S3Client({
    region: aws.region,
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: connectMs,
      requestTimeout: answerMs,
      throwOnRequestTimeout: true,
      socketTimeout: answerMs,
    },
    // Its only message is a console warning that a streamed upload is not retried by the SDK: this store retries it.
    logger: SILENT,
    ...(aws.s3Endpoint ? { endpoint: aws.s3Endpoint, forcePathStyle: true } : {}),
    ...(aws.localCredentials ? { credentials: aws.localCredentials } : {}),
  });
}

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
]);

/**
 * 5xx, throttling, broken connections and time-outs are worth another try; everything else (403, 404, bad request,
 * an abort) is not.
 */
export function isTransientS3Error(error: unknown): boolean {
  if (isAbortError(error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const name = (error as { name?: unknown }).name;
  if (typeof name === 'string' && THROTTLING.has(name)) return true;
  return isNetworkError(error);
}

function isMissingKey(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  if (name === 'NoSuchKey' || name === 'NotFound') return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 404 && name !== 'NoSuchBucket';
}

export interface S3ObjectStoreOptions {
  readonly retry?: RetryPolicy;
  readonly log?: Logger;
  /** Aborting it abandons every request under way and every one to come, and their retries (a stop's deadline). */
  readonly signal?: AbortSignal;
}

/** The Hub's bucket (contract §4) as an ObjectStore: every transfer streams between S3 and a local file. */
export class S3ObjectStore implements ObjectStore {
  private readonly retry: RetryPolicy;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly options: S3ObjectStoreOptions = {},
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /**
   * The operation, tried again while its failure is transient (a time-out included); the wait between tries ends
   * with the signal. A final failure is ours, with `code`: a missing key and an abort are passed on as they are.
   */
  private async withRetries<T>(
    code: ErrorCode,
    what: string,
    signal: AbortSignal | undefined,
    operation: () => Promise<T>,
  ): Promise<T> {
    try {
      return await retrying(operation, isTransientS3Error, this.retry, {
        onRetry: (error, attempt, delayMs) =>
          this.options.log?.warn({ err: error, attempt, delayMs }, `S3 ${what} failed, retrying`),
        sleep: (ms) => sleep(ms, undefined, { signal }),
      });
    } catch (error) {
      if (isMissingKey(error) || isAbortError(error)) throw error;
      throw new WorkerError(code, `S3 ${what} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { signal } = this.options;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.withRetries('wr_2', `list of ${prefix}`, signal, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
          { abortSignal: signal },
        ),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async download(key: string, destinationPath: string, callerSignal?: AbortSignal): Promise<void> {
    const signal = anySignal(this.options.signal, callerSignal);
    try {
      await this.withRetries('wr_2', `download of ${key}`, signal, async () => {
        const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
          abortSignal: signal,
        });
        if (!(object.Body instanceof Readable)) throw new Error(`S3 gave no readable body for ${key}`);
        await pipeline(object.Body, createWriteStream(destinationPath), { signal });
      });
    } catch (error) {
      // No half-written file is left behind to be mistaken for the object.
      await rm(destinationPath, { force: true });
      if (isMissingKey(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async upload(key: string, sourcePath: string, contentType: string): Promise<void> {
    const { signal } = this.options;
    await this.withRetries('wr_1', `upload of ${key}`, signal, async () => {
      // A stream can be read once: each try opens the file again. The length lets the SDK send it unbuffered.
      const { size } = await stat(sourcePath);
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: createReadStream(sourcePath),
          ContentLength: size,
          ContentType: contentType,
        }),
        // No limit on the time to the answer: it includes sending the body, which the socket's idle limit guards.
        { abortSignal: signal, requestTimeout: 0 },
      );
    });
  }
}
