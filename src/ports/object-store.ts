/** Where task files, data, references and submissions come from, and where results go (contract §4 keys). */
export interface ObjectStore {
  /** Keys under a prefix, in any order. */
  list(prefix: string): Promise<string[]>;
  /**
   * Streams the object to a local file; a missing key rejects with ObjectNotFoundError. Aborting the signal stops the
   * transfer (a cancelled job) and leaves no file.
   */
  download(key: string, destinationPath: string, signal?: AbortSignal): Promise<void>;
  upload(key: string, sourcePath: string, contentType: string): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  constructor(readonly key: string) {
    super(`no object at key ${key}`);
  }
}
