import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { WorkerError } from '../../domain/errors.js';
import type { FileMetadata, SystemMetadata } from '../../domain/metadata.js';
import type { ResultsObject } from '../../domain/results.js';
import {
  type BreakingError,
  type HubApi,
  NoErrorReportError,
  type NonBreakingError,
  type SubmissionStatus,
} from '../../ports/hub-api.js';
import { LocalHubApi } from '../local-hub-api.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The example task the simulated adapters serve by default. */
export const EXAMPLE_TASK = path.join(ROOT, 'examples/tasks/time-shift-detection');

/**
 * A simulated Hub API: answers from a task folder's CSV files (as the local command does), records every call it is
 * sent, and fails the calls it is told to. For the fast specs and the stream playground.
 */
export class RecordingHub implements HubApi {
  /** Called with each call's name as it is made (the playground's timeline). */
  onCall: (call: string) => void = () => undefined;
  readonly calls: string[] = [];
  readonly statuses: SubmissionStatus[] = [];
  readonly fileErrors: NonBreakingError[] = [];
  readonly breakingErrors: BreakingError[] = [];
  readonly results: ResultsObject[] = [];
  readonly progress: number[] = [];
  /** Calls named here reject with their error. */
  readonly failing = new Map<string, Error>();
  /**
   * Calls named here reject as after a time-out: the Hub applied them (`applied`), or they never reached it
   * (`dropped`); the worker cannot tell which.
   */
  readonly answerLost = new Map<string, 'applied' | 'dropped'>();
  /** Error reports made: the blank ones the file errors are appended to. */
  blankReports = 0;
  private readonly answers: LocalHubApi;

  /** The Hub down for this call, as the HTTP adapter reports it (wr_5, retryable). */
  unreachableFor(call: string): void {
    this.failing.set(call, new WorkerError('wr_5', `${call}: connect ECONNREFUSED`));
  }

  constructor(taskDir: string = EXAMPLE_TASK) {
    this.answers = new LocalHubApi(taskDir, pino({ level: 'silent' }), ['3.11']);
  }

  private async record(call: string): Promise<void> {
    this.calls.push(call);
    this.onCall(call);
    const failure = this.failing.get(call);
    if (failure) throw failure;
  }

  /** Applies the call unless its request is dropped, then loses its answer when the spec says so. */
  private async apply(call: string, applying: () => void): Promise<void> {
    await this.record(call);
    const lost = this.answerLost.get(call);
    if (lost !== 'dropped') applying();
    if (lost === undefined) return;
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    throw new WorkerError('wr_12', `${call} failed: no answer within 3 s`, { cause: timeout });
  }

  async setStatus(_id: number, status: SubmissionStatus): Promise<void> {
    await this.record(`status ${status}`);
    this.statuses.push(status);
  }
  async fileMetadata(fileId: number): Promise<FileMetadata> {
    await this.record('file metadata');
    return this.answers.fileMetadata(fileId);
  }
  async fileMetadataMany(fileIds: readonly number[]): Promise<FileMetadata[]> {
    await this.record('file metadata');
    return this.answers.fileMetadataMany(fileIds);
  }
  async systemMetadata(): Promise<SystemMetadata[]> {
    await this.record('systems');
    return this.answers.systemMetadata();
  }
  async pythonVersions(): Promise<string[]> {
    await this.record('versions');
    return ['3.9', '3.10', '3.11', '3.12'];
  }
  async createBlankErrorReport(): Promise<void> {
    await this.apply('blank error report', () => (this.blankReports += 1));
  }
  async progressIncrement(_id: number, fileExecTime: number): Promise<void> {
    await this.apply('progress', () => this.progress.push(fileExecTime));
  }
  /** As the API: appended to the first report, refused (404) while there is none. */
  async reportFileError(id: number, error: NonBreakingError): Promise<void> {
    await this.apply('file error', () => {
      if (this.blankReports === 0) throw new NoErrorReportError(id);
      this.fileErrors.push(error);
    });
  }
  async reportBreakingError(_id: number, error: BreakingError): Promise<void> {
    await this.record('breaking error');
    this.breakingErrors.push(error);
  }
  async updateResult(_id: number, results: ResultsObject): Promise<void> {
    await this.record('result');
    this.results.push(results);
  }
}
