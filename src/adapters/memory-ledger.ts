import type { Job } from '../domain/job.js';
import { type CallFact, type LedgerRecord, type LedgerScore, ledgerRecordOf } from '../domain/ledger.js';
import type { JobLedger } from '../ports/job-ledger.js';

/**
 * A ledger held in memory: a local evaluation has no second attempt, so nothing needs to outlive it; outputs stay in
 * the workspace for the output folder. Also the specs' ledger.
 */
export class MemoryLedger implements JobLedger {
  readonly scores = new Map<string, LedgerScore>();
  readonly facts: CallFact[] = [];
  readonly stops = new Set<string>();

  async load(): Promise<LedgerRecord> {
    return ledgerRecordOf(this.scores, this.facts, this.stops.size);
  }

  async saveScore(_job: Job, fileName: string, score: LedgerScore): Promise<void> {
    this.scores.set(fileName, score);
  }

  async saveCallFact(_job: Job, fact: CallFact): Promise<void> {
    this.facts.push(fact);
  }

  async saveStop(_job: Job, attemptId: string): Promise<void> {
    this.stops.add(attemptId);
  }
}
