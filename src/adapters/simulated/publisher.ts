import path from 'node:path';
import type { Job } from '../../domain/job.js';
import type { ResultNames, ResultsPublisher } from '../../ports/results-publisher.js';

/** Results and logs published into memory: which files, under which names. */
export class MemoryPublisher implements ResultsPublisher {
  readonly published: string[] = [];
  readonly logs: string[] = [];
  async publishResults(_job: Job, resultsDir: string, names: ResultNames): Promise<void> {
    this.published.push(path.join(resultsDir, names.publicResultsTable));
  }
  async publishLogs(_job: Job, logsDir: string): Promise<void> {
    this.logs.push(logsDir);
  }
}

