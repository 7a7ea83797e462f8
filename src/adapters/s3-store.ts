import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { AwsSettings } from '../config.js';
import { DEFAULT_RETRY, isNetworkError, retrying, type RetryPolicy } from '../domain/retry.js';
import { ObjectNotFoundError, type ObjectStore } from '../ports/object-store.js';

const ignore = () => undefined;
const SILENT = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

/**
 * An S3 client for the configured region and endpoint. A custom endpoint is an S3-compatible server, which
 * addresses buckets by path. The SDK's own retries are off: S3ObjectStore retries whole transfers (a download that
 * breaks mid-body is retried too, which the SDK cannot do), and one policy is easier to reason about than two nested.
 */
export function createS3Client(aws: AwsSettings): S3Client {
  return new S3Client({
    region: aws.region,
    maxAttempts: 1,
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

/** 5xx, throttling and broken connections are worth another try; everything else (403, 404, bad request) is not. */
export function isTransientS3Error(error: unknown): boolean {
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

  private withRetries<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return retrying(operation, isTransientS3Error, this.retry, {
      onRetry: (error, attempt, delayMs) =>
        this.options.log?.warn({ err: error, attempt, delayMs }, `S3 ${what} failed, retrying`),
    });
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.withRetries(`list ${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async download(key: string, destinationPath: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.withRetries(`download ${key}`, async () => {
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
    await this.withRetries(`upload ${key}`, async () => {
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
      );
    });
  }
}
