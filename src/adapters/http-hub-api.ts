import { WorkerError } from '../domain/errors.js';
import type { FileMetadata, SystemMetadata } from '../domain/metadata.js';
import type { ResultsObject } from '../domain/results.js';
import {
  type BreakingError,
  type HubApi,
  NoErrorReportError,
  type NonBreakingError,
  type SubmissionStatus,
} from '../ports/hub-api.js';
import { HubApiError, HubSession, type HubSessionOptions } from './hub-session.js';

export interface HttpHubApiOptions extends HubSessionOptions {
  /** File-metadata requests at once (the Hub offers one GET per file). */
  readonly metadataConcurrency?: number;
}

/**
 * The Hub API over HTTP, route for route as contract §3 has them (paths, methods, bodies, trailing slashes), over a
 * HubSession (time-outs, retries, login); every failure carries the Hub code of what failed.
 */
export class HttpHubApi implements HubApi {
  private readonly session: HubSession;

  constructor(private readonly options: HttpHubApiOptions) {
    this.session = new HubSession(options);
  }

  /** Logs in now (credentials from the environment or the secret), so a worker that cannot stops before any job. */
  signIn(): Promise<void> {
    return this.session.signIn();
  }

  async setStatus(submissionId: number, status: SubmissionStatus): Promise<void> {
    await this.session.call('PUT', `submissions/change_submission_status/${submissionId}`, 'wr_5', { status });
  }

  async fileMetadata(fileId: number): Promise<FileMetadata> {
    const route = `file_metadata/filemetadata/${fileId}/`;
    let found: unknown;
    try {
      found = await this.session.call('GET', route, 'wr_7');
    } catch (error) {
      if (error instanceof HubApiError && error.status === 404)
        throw new WorkerError('wr_7', `the Hub has no metadata for file ${fileId}`, { cause: error });
      throw error;
    }
    if (!isObject(found)) throw new WorkerError('wr_13', `GET ${route} answered something other than an object`);
    return found as FileMetadata;
  }

  /**
   * The Hub has no bulk route: one GET per file, at most `metadataConcurrency` at once (a task of thousands of files
   * would otherwise wait on them one by one), results in the ids' order.
   */
  async fileMetadataMany(fileIds: readonly number[]): Promise<FileMetadata[]> {
    const results: FileMetadata[] = new Array<FileMetadata>(fileIds.length);
    let next = 0;
    const worker = async () => {
      while (next < fileIds.length) {
        const index = next;
        next += 1;
        results[index] = await this.fileMetadata(fileIds[index] as number);
      }
    };
    const lanes = Math.max(1, Math.min(this.options.metadataConcurrency ?? 4, fileIds.length));
    await Promise.all(Array.from({ length: lanes }, worker));
    return results;
  }

  async systemMetadata(): Promise<SystemMetadata[]> {
    const route = 'system_metadata/systemmetadata/';
    const found = await this.session.call('GET', route, 'op_3');
    if (!Array.isArray(found) || !found.every(isObject))
      throw new WorkerError('wr_13', `GET ${route} answered something other than a list of systems`);
    return found as SystemMetadata[];
  }

  /** The route redirects to versions/python/; fetch follows it, keeping the token (same origin). */
  async pythonVersions(): Promise<string[]> {
    const found = await this.session.call('GET', 'versions/python', 'wr_500');
    if (!Array.isArray(found))
      throw new WorkerError('wr_13', 'GET versions/python answered something other than a list');
    return found.map(String);
  }

  async createBlankErrorReport(submissionId: number): Promise<void> {
    await this.session.call('POST', 'error/error_report/new', 'wr_12', {
      submission: submissionId,
      error_code: '',
      error_type: '',
      error_message: '',
      error_rate: 0,
      file_errors: { errors: [] },
    });
  }

  async progressIncrement(submissionId: number, fileExecTime: number): Promise<void> {
    await this.session.call('POST', `submissions/submission/${submissionId}/progress_increment`, 'wr_500', {
      file_exec_time: fileExecTime,
    });
  }

  /**
   * error_code is the file's code string (sb_1, sb_500, op_8, …), the same vocabulary as breaking errors, so a
   * participant reads what failed (contract §3 and §8). The API does not validate this route's code: it appends the
   * object to the first report's file_errors.errors as it is.
   */
  async reportFileError(submissionId: number, error: NonBreakingError): Promise<void> {
    const body = {
      error_code: error.error_code,
      error_type: error.error_type,
      error_message: error.error_message,
      file_name: error.file_name,
    };
    await this.session
      .call('POST', `error/error_report/${submissionId}/update_non_breaking`, 'wr_12', body)
      .catch((refusal: unknown) => {
        if (refusal instanceof HubApiError && refusal.status === 404)
          throw new NoErrorReportError(submissionId, { cause: refusal });
        throw refusal;
      });
  }

  async reportBreakingError(submissionId: number, error: BreakingError): Promise<void> {
    const rate = error.error_rate;
    await this.session.call('POST', 'error/error_report', 'wr_12', {
      submission: submissionId,
      error_code: error.error_code,
      error_type: error.error_type,
      error_message: error.error_message,
      ...(rate !== undefined && Number.isFinite(rate) ? { error_rate: rate } : {}),
    });
  }

  async updateResult(submissionId: number, results: ResultsObject): Promise<void> {
    await this.session.call('PUT', `submissions/update_submission_result/${submissionId}`, 'wr_4', results);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
