/**
 * The Hub's error codes (contract §8). The API refuses codes it does not know, so the worker only ever sends these,
 * each with its documented meaning.
 */
export const ERROR_CODES = {
  wr_1: 'S3 upload failed',
  wr_2: 'S3 download failed',
  wr_3: 'no task files under the scripts prefix',
  wr_4: 'result update to API failed',
  wr_5: 'status update to API failed',
  wr_6: 'config, link or template file missing or malformed',
  wr_7: "a file's metadata not found",
  wr_8: 'no file metadata for the task',
  wr_9: 'reference file missing',
  wr_10: 'data file missing',
  wr_11: 'runner module lacks run',
  wr_12: 'error-report POST failed',
  wr_13: 'invalid API response',
  op_1: 'bad submission archive',
  op_2: 'dependency install failed',
  op_3: 'system metadata fetch failed',
  op_4: 'system metadata empty',
  op_5: 'config missing',
  op_6: 'function missing from the submission',
  op_7: 'failure cutoff: the first files all failed',
  op_8: 'output does not match the reference',
  op_9: 'scalar output missing',
  sb_1: 'exceeded max time',
  wr_500: 'internal worker error',
  op_500: 'internal operation error',
  sb_500: 'internal submission error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/**
 * The error_type the Hub stores beside a code: the exception class of each prefix that the Hub's code expects (WorkerException wr_,
 * RunnerException op_, SubmissionException sb_). A file's non-breaking error is always a SubmissionException.
 */
export function errorTypeOf(code: ErrorCode): string {
  if (code.startsWith('wr_')) return 'WorkerException';
  if (code.startsWith('op_')) return 'RunnerException';
  return 'SubmissionException';
}

export const FILE_ERROR_TYPE = 'SubmissionException';

/** Failures of the worker's own infrastructure (uploads, downloads, the API): a fresh worker may well succeed. */
const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set(['wr_1', 'wr_2', 'wr_4', 'wr_5']);

/** A failure that ends the whole job (a "breaking" error in the Hub's words). */
export class WorkerError extends Error {
  override readonly name = 'WorkerError';
  /**
   * Whether the same job may succeed on another try. Default: by code (TRANSIENT_CODES); an adapter that knows
   * better says so (a 4xx from the Hub is the same on every try).
   */
  readonly retryable: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options);
    this.retryable = options?.retryable ?? TRANSIENT_CODES.has(code);
  }

  /** One line for a person: the code first, then what went wrong. */
  toLine(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** A failure of one data file: reported as a non-breaking error, the job goes on. A value, not an exception. */
export interface FileFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Wraps anything thrown into a WorkerError, keeping a typed one as it is. */
export function asWorkerError(error: unknown, fallback: ErrorCode = 'wr_500'): WorkerError {
  if (error instanceof WorkerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new WorkerError(fallback, message, { cause: error });
}
