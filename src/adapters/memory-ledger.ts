import type { Job } from '../domain/job.js';
import type { JobCall, LedgerFile, LedgerRecord } from '../domain/ledger.js';
import type { JobLedger } from '../ports/job-ledger.js';

/**
 * A ledger held in memory: a local evaluation has no second attempt, so nothing needs to outlive it; outputs stay in
 * the workspace for the output folder. Also the specs' ledger.
 */
export class MemoryLedger implements JobLedger {
  readonly files = new Map<string, LedgerFile>();
  applied: readonly JobCall[] = [];

  async load(): Promise<LedgerRecord> {
    return { files: new Map(this.files), applied: new Set(this.applied) };
  }

  async saveFile(_job: Job, fileName: string, entry: LedgerFile): Promise<void> {
    this.files.set(fileName, entry);
  }

  async saveJobCalls(_job: Job, applied: readonly JobCall[]): Promise<void> {
    this.applied = [...applied];
  }
}
