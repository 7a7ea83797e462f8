import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { WorkerError } from '../domain/errors.js';
import type { FileMetadata, SystemMetadata } from '../domain/metadata.js';
import type { ResultsObject } from '../domain/results.js';
import type { BreakingError, HubApi, NonBreakingError, SubmissionStatus } from '../ports/hub-api.js';
import { readMetadataCsv } from './metadata-csv.js';

/**
 * The Hub API of a local run: metadata read from the task folder's file_metadata.csv and system_metadata.csv
 * (the files the Hub's task-insertion tool loads), and every report the worker would send written to the log.
 */
export class LocalHubApi implements HubApi {
  private files: Promise<Map<number, FileMetadata>> | undefined;

  constructor(
    private readonly taskDir: string,
    private readonly log: Logger,
    private readonly availablePythonVersions: readonly string[],
  ) {}

  private async csv(name: string, code: 'wr_8' | 'op_3'): Promise<Array<Record<string, unknown>>> {
    const file = path.join(this.taskDir, name);
    try {
      await access(file);
    } catch {
      throw new WorkerError(code, `the task folder has no ${name}`);
    }
    try {
      return await readMetadataCsv(file);
    } catch (error) {
      throw new WorkerError(code, `${name} is not a readable CSV: ${(error as Error).message}`);
    }
  }

  private fileTable(): Promise<Map<number, FileMetadata>> {
    this.files ??= this.csv('file_metadata.csv', 'wr_8').then((rows) => {
      const table = new Map<number, FileMetadata>();
      for (const row of rows) {
        if (typeof row['file_id'] !== 'number' || typeof row['file_name'] !== 'string') {
          throw new WorkerError('wr_8', 'file_metadata.csv rows need a numeric file_id and a file_name');
        }
        table.set(row['file_id'], {
          ...row,
          include_on_leaderboard: row['include_on_leaderboard'] !== false,
        } as FileMetadata);
      }
      return table;
    });
    return this.files;
  }

  async fileMetadata(fileId: number): Promise<FileMetadata> {
    const found = (await this.fileTable()).get(fileId);
    if (!found) throw new WorkerError('wr_7', `file_metadata.csv has no row for file_id ${fileId}`);
    return found;
  }

  fileMetadataMany(fileIds: readonly number[]): Promise<FileMetadata[]> {
    return Promise.all(fileIds.map((id) => this.fileMetadata(id)));
  }

  async systemMetadata(): Promise<SystemMetadata[]> {
    const rows = await this.csv('system_metadata.csv', 'op_3');
    if (rows.length === 0) throw new WorkerError('op_4', 'system_metadata.csv has no rows');
    return rows as SystemMetadata[];
  }

  async pythonVersions(): Promise<string[]> {
    return [...this.availablePythonVersions];
  }

  async setStatus(submissionId: number, status: SubmissionStatus): Promise<void> {
    this.log.info({ hub: 'status', submissionId, status }, `submission status: ${status}`);
  }

  async createBlankErrorReport(): Promise<void> {}

  async progressIncrement(submissionId: number, fileExecTime: number | null): Promise<void> {
    this.log.debug({ hub: 'progress', submissionId, fileExecTime }, 'progress');
  }

  async reportFileError(submissionId: number, error: NonBreakingError): Promise<void> {
    this.log.warn(
      { hub: 'non_breaking_error', submissionId, ...error },
      `${error.file_name}: ${error.error_code}: ${error.error_message}`,
    );
  }

  async reportBreakingError(submissionId: number, error: BreakingError): Promise<void> {
    this.log.error({ hub: 'breaking_error', submissionId, ...error }, `${error.error_code}: ${error.error_message}`);
  }

  async updateResult(submissionId: number, results: ResultsObject): Promise<void> {
    this.log.info({ hub: 'result', submissionId, results }, 'results');
  }
}
