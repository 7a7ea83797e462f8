import path from 'node:path';
import type { Job } from '../../domain/job.js';
import type { ResultNames, ResultsPublisher } from '../../ports/results-publisher.js';

/** Results and logs published into memory: which files, under which names. */
export class MemoryPublisher implements ResultsPublisher {
  readonly published: string[] = [];
  readonly logs: string[] = [];
  /** Logs of earlier attempts: the submission, the folder and the attempt's name. */
  readonly attemptLogs: Array<{ readonly submissionId: number; readonly logsDir: string; readonly attempt: string }> =
    [];
  async publishResults(_job: Job, resultsDir: string, names: ResultNames): Promise<void> {
    this.published.push(path.join(resultsDir, names.publicResultsTable));
  }
  async publishLogs(job: Job, logsDir: string, attempt?: string): Promise<void> {
    if (attempt === undefined) this.logs.push(logsDir);
    else this.attemptLogs.push({ submissionId: job.submissionId, logsDir, attempt });
  }
}
