import type { Job } from '../domain/job.js';
import type { JobCall, LedgerFile, LedgerRecord } from '../domain/ledger.js';

/** Where a submission's ledger lives between attempts (domain/ledger.ts): beside its results in the bucket. */
export interface JobLedger {
  /** What earlier attempts of the job left; empty for a first attempt. */
  load(job: Job): Promise<LedgerRecord>;
  /**
   * A file's entry; with `outputPath`, its output is kept first, where the Hub's results go, since the workspace of
   * this attempt may not outlive it.
   */
  saveFile(job: Job, fileName: string, entry: LedgerFile, outputPath?: string): Promise<void>;
  saveJobCalls(job: Job, applied: readonly JobCall[]): Promise<void>;
}
