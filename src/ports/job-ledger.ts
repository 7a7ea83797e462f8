import type { Job } from '../domain/job.js';
import type { CallFact, LedgerRecord, LedgerScore } from '../domain/ledger.js';

/** Where a submission's ledger lives between attempts (domain/ledger.ts): beside its results in the bucket. */
export interface JobLedger {
  /** What earlier attempts of the job left; empty for a first attempt. */
  load(job: Job): Promise<LedgerRecord>;
  /**
   * A file's score; with `outputPath`, its output is kept first, where the Hub's results go, since the workspace of
   * this attempt may not outlive it.
   */
  saveScore(job: Job, fileName: string, score: LedgerScore, outputPath?: string): Promise<void>;
  /** Adds a fact about a call; none is ever rewritten or removed. */
  saveCallFact(job: Job, fact: CallFact): Promise<void>;
  /** Adds the mark of an attempt (named by `attemptId`) handed back because its worker was told to stop. */
  saveStop(job: Job, attemptId: string): Promise<void>;
}
