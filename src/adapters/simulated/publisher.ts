import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from '../../domain/job.js';
import { JOB_LOG_FILE } from '../../logging.js';
import type { ResultNames, ResultsPublisher } from '../../ports/results-publisher.js';

/** Results and logs published into memory: which files, under which names, the report's path, the job log's text. */
export class MemoryPublisher implements ResultsPublisher {
  readonly published: string[] = [];
  readonly reports: string[] = [];
  readonly logs: string[] = [];
  readonly logTexts: string[] = [];
  /** Logs of earlier attempts: the submission, the folder and the attempt's name. */
  readonly attemptLogs: Array<{ readonly submissionId: number; readonly logsDir: string; readonly attempt: string }> =
    [];
  async publishResults(_job: Job, resultsDir: string, names: ResultNames): Promise<void> {
    this.published.push(path.join(resultsDir, names.publicResultsTable));
  }
  async publishReport(_job: Job, reportPath: string): Promise<void> {
    this.reports.push(reportPath);
  }
  async publishLogs(job: Job, logsDir: string, attempt?: string): Promise<void> {
    if (attempt !== undefined) {
      this.attemptLogs.push({ submissionId: job.submissionId, logsDir, attempt });
      return;
    }
    this.logs.push(logsDir);
    this.logTexts.push(await readFile(path.join(logsDir, JOB_LOG_FILE), 'utf8'));
  }
}
