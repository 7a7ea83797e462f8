import { type ErrorCode, WorkerError } from '../domain/errors.js';
import { ObjectNotFoundError, type ObjectStore } from '../ports/object-store.js';

/** Downloads a key; a missing object gets the caller's code, any other failure is wr_2. Both name the key. */
export async function fetchObject(
  store: ObjectStore,
  key: string,
  destination: string,
  missingCode: ErrorCode,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await store.download(key, destination, signal);
  } catch (error) {
    signal?.throwIfAborted();
    if (error instanceof WorkerError) throw error;
    if (error instanceof ObjectNotFoundError)
      throw new WorkerError(missingCode, `missing object: ${key}`, { cause: error });
    throw new WorkerError('wr_2', `download of ${key} failed: ${(error as Error).message}`, { cause: error });
  }
}
