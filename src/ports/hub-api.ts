import { WorkerError } from '../domain/errors.js';
import type { FileMetadata, SystemMetadata } from '../domain/metadata.js';
import type { ResultsObject } from '../domain/results.js';

export type SubmissionStatus = 'running' | 'finished' | 'failed';

export interface NonBreakingError {
  readonly error_code: string;
  readonly error_type: string;
  readonly error_message: string;
  readonly file_name: string;
}

export interface BreakingError {
  readonly error_code: string;
  readonly error_type: string;
  readonly error_message: string;
  readonly error_rate?: number;
}

/**
 * The Hub has no error report of the submission to append a file error to (the update route answers 404): its
 * creation never landed, or has not yet.
 */
export class NoErrorReportError extends WorkerError {
  constructor(submissionId: number, options?: { cause?: unknown }) {
    super('wr_12', `the Hub has no error report of submission ${submissionId} to add a file error to`, options);
  }
}

/** The Hub API routes of contract §3, one method each. */
export interface HubApi {
  setStatus(submissionId: number, status: SubmissionStatus): Promise<void>;
  fileMetadata(fileId: number): Promise<FileMetadata>;
  /** Many files at once; the HTTP adapter may fall back to one request per id. */
  fileMetadataMany(fileIds: readonly number[]): Promise<FileMetadata[]>;
  systemMetadata(): Promise<SystemMetadata[]>;
  pythonVersions(): Promise<string[]>;
  createBlankErrorReport(submissionId: number): Promise<void>;
  /** One file done, ok or failed, with its wall time in seconds: the API answers null with a 500 (float(None)). */
  progressIncrement(submissionId: number, fileExecTime: number): Promise<void>;
  /** Appended to the submission's first error report; rejects with NoErrorReportError when it has none. */
  reportFileError(submissionId: number, error: NonBreakingError): Promise<void>;
  reportBreakingError(submissionId: number, error: BreakingError): Promise<void>;
  updateResult(submissionId: number, results: ResultsObject): Promise<void>;
}
