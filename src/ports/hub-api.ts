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
  reportFileError(submissionId: number, error: NonBreakingError): Promise<void>;
  reportBreakingError(submissionId: number, error: BreakingError): Promise<void>;
  updateResult(submissionId: number, results: ResultsObject): Promise<void>;
}
