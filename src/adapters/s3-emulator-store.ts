import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { DEFAULT_RETRY, isNetworkError, retrying, type RetryPolicy } from '../domain/retry.js';
import { ObjectNotFoundError, type ObjectStore } from '../ports/object-store.js';

/** A reply of the emulator other than 2xx. */
export class S3EmulatorHttpError extends Error {
  override readonly name = 'S3EmulatorHttpError';
  constructor(
    readonly status: number,
    readonly what: string,
    readonly detail: string,
  ) {
    super(`S3 emulator ${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`);
  }
}

/** 5xx, 429 and broken connections are worth another try; 4xx (a missing key, a missing bucket) are not. */
export function isTransientEmulatorError(error: unknown): boolean {
  if (error instanceof S3EmulatorHttpError) return error.status >= 500 || error.status === 429;
  return isNetworkError(error);
}

/** "a b/c?.csv" → "a%20b/c%3F.csv": each segment encoded, the slashes kept, as the emulator's `<path:…>` routes take them. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export interface S3EmulatorStoreOptions {
  readonly retry?: RetryPolicy;
  readonly log?: Logger;
}

/** At most this much of an error reply is kept for the message. */
const DETAIL_CHARS = 200;

async function failure(response: Response, what: string): Promise<S3EmulatorHttpError> {
  const text = await response.text().catch(() => '');
  return new S3EmulatorHttpError(response.status, what, text.trim().slice(0, DETAIL_CHARS));
}

/**
 * The Hub's local-stack "s3" service (contract §2), which is not S3 but three routes over plain HTTP:
 * `GET /list_bucket/<bucket>/<prefix>` → `{"Contents":[{"Key"}]}`, `GET /get_object/<bucket>/<key>` (the object),
 * `PUT /put_object/<bucket>/<key>` (the object as the body). Transfers stream between the service and a local
 * file; whole transfers are retried on a transient failure, as S3ObjectStore does.
 */
export class S3EmulatorStore implements ObjectStore {
  private readonly base: string;
  private readonly retry: RetryPolicy;

  constructor(
    baseUrl: string,
    private readonly bucket: string,
    private readonly options: S3EmulatorStoreOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  private url(route: 'list_bucket' | 'get_object' | 'put_object', key: string): string {
    return `${this.base}/${route}/${encodeURIComponent(this.bucket)}/${encodeKeyPath(key)}`;
  }

  private withRetries<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return retrying(operation, isTransientEmulatorError, this.retry, {
      onRetry: (error, attempt, delayMs) =>
        this.options.log?.warn({ err: error, attempt, delayMs }, `S3 emulator ${what} failed, retrying`),
    });
  }

  async list(prefix: string): Promise<string[]> {
    const what = `list ${prefix}`;
    const body = await this.withRetries(what, async () => {
      const response = await fetch(this.url('list_bucket', prefix));
      if (!response.ok) throw await failure(response, what);
      return (await response.json()) as unknown;
    });
    const contents = (body as { Contents?: unknown } | null)?.Contents;
    if (!Array.isArray(contents)) throw new Error(`S3 emulator ${what}: no Contents list in the reply`);
    // The emulator lists the folder the prefix names; the port's promise is the keys that start with the prefix.
    return contents
      .map((entry) => (entry as { Key?: unknown } | null)?.Key)
      .filter((key): key is string => typeof key === 'string' && key.startsWith(prefix));
  }

  async download(key: string, destinationPath: string, signal?: AbortSignal): Promise<void> {
    const what = `download ${key}`;
    try {
      await this.withRetries(what, async () => {
        const response = await fetch(this.url('get_object', key), { signal });
        if (response.status === 404) {
          await response.body?.cancel();
          throw new ObjectNotFoundError(key);
        }
        if (!response.ok) throw await failure(response, what);
        if (!response.body) throw new Error(`S3 emulator gave no body for ${key}`);
        await pipeline(
          Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
          createWriteStream(destinationPath),
          { signal },
        );
      });
    } catch (error) {
      // No half-written file is left behind to be mistaken for the object.
      await rm(destinationPath, { force: true });
      throw error;
    }
  }

  async upload(key: string, sourcePath: string, contentType: string): Promise<void> {
    const what = `upload ${key}`;
    await this.withRetries(what, async () => {
      // A stream can be read once: each try opens the file again. The length spares the service a chunked body.
      const { size } = await stat(sourcePath);
      // Node's fetch needs duplex 'half' for a streamed body; the DOM typings of RequestInit do not know it yet.
      const init: RequestInit & { duplex: 'half' } = {
        method: 'PUT',
        body: Readable.toWeb(createReadStream(sourcePath)) as ReadableStream<Uint8Array>,
        duplex: 'half',
        headers: { 'content-type': contentType, 'content-length': String(size) },
      };
      const response = await fetch(this.url('put_object', key), init);
      if (!response.ok) throw await failure(response, what);
      await response.body?.cancel();
    });
  }
}
