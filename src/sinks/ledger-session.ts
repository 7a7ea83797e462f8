import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WorkerError } from '../domain/errors.js';
import type { FileScore } from '../domain/file-run.js';
import type { Job } from '../domain/job.js';
import {
  type CallFact,
  EMPTY_LEDGER,
  type FileCall,
  finalStatusOf,
  type JobCall,
  type LedgerRecord,
  type LedgerScore,
  ledgerScoreOf,
  REPEATABLE_CALLS,
} from '../domain/ledger.js';
import { answerWasLost } from '../domain/retry.js';
import type { JobLedger } from '../ports/job-ledger.js';

const FILE_CALL_BIT: Readonly<Record<FileCall, number>> = { 'file-error': 1, progress: 2 };

function callBits(calls: readonly FileCall[]): number {
  return calls.reduce((bits, call) => bits | FILE_CALL_BIT[call], 0);
}

/** A ledger record that could not be written: ours, and the job cannot go on without it. */
export class LedgerWriteError extends WorkerError {
  constructor(cause: unknown) {
    super('wr_1', `the job's ledger cannot be written: ${(cause as Error).message}`, { cause });
  }
}

/**
 * One attempt's view of its job's ledger: what earlier attempts scored and told the Hub, and each new score and
 * call written through as it happens. A Hub call goes through `…Once`: skipped when an attempt already had it
 * applied. A try of a call that adds (all but the status) is recorded before it is sent, and withdrawn only when the
 * Hub surely did not apply it (it answered with a refusal, or the request never left): so neither a lost answer nor
 * a crash right after the call makes any attempt send it twice. A status is sent, then recorded: sent again, it sets
 * what it set. A record that cannot be written is a wr_1 of ours: the job goes back to the queue.
 */
export class LedgerSession {
  /** The scores earlier attempts kept, for the files this attempt need not run again. */
  private readonly earlierScores: Map<string, LedgerScore>;
  /**
   * Every file whose score is kept, with the calls the Hub has of it as bits (FILE_CALL_BIT): a number per file and
   * no copy of its score, so a job of 10,000 files holds no more than it must.
   */
  private readonly fileCalls: Map<string, number>;
  private readonly applied: Set<JobCall>;
  /** Earlier attempts handed back on a stop. */
  readonly stopsBefore: number;

  private constructor(
    private readonly ledger: JobLedger,
    private readonly job: Job,
    record: LedgerRecord,
  ) {
    this.earlierScores = new Map([...record.files].map(([name, entry]) => [name, entry.score]));
    this.fileCalls = new Map([...record.files].map(([name, entry]) => [name, callBits(entry.applied)]));
    this.applied = new Set(record.applied);
    this.stopsBefore = record.stops;
  }

  static async open(ledger: JobLedger, job: Job, log: Logger): Promise<LedgerSession> {
    const record = await ledger.load(job).catch((error: unknown) => {
      throw new WorkerError('wr_2', `the job's ledger cannot be read: ${(error as Error).message}`, { cause: error });
    });
    if (record.files.size > 0 || record.applied.size > 0 || record.stops > 0)
      log.info(
        { filesScored: record.files.size, applied: [...record.applied], stops: record.stops },
        'resuming from the ledger of an earlier attempt',
      );
    return new LedgerSession(ledger, job, record);
  }

  /** A job with no earlier attempt to read (a local evaluation, whose ledger lives as long as it does). */
  static fresh(ledger: JobLedger, job: Job): LedgerSession {
    return new LedgerSession(ledger, job, EMPTY_LEDGER);
  }

  /** The final status an earlier attempt gave the Hub, if any. */
  get finalStatus(): 'finished' | 'failed' | undefined {
    return finalStatusOf({ applied: this.applied });
  }

  /** Whether the Hub has any file's progress or error: a rerun without this ledger would send them twice. */
  get fileReported(): boolean {
    return [...this.fileCalls.values()].some((bits) => bits !== 0);
  }

  /** The score an earlier attempt kept for this file. */
  scoredBefore(fileName: string): LedgerScore | undefined {
    return this.earlierScores.get(fileName);
  }

  /** Marks this attempt as handed back on a stop, so that it does not count against the job's tries. */
  async recordStop(): Promise<void> {
    await this.write(() => this.ledger.saveStop(this.job, randomUUID()));
  }

  /** Keeps a new score (and the file's output, when it has one), before any Hub call about it. */
  async recordScore(fileName: string, score: FileScore, outputPath?: string): Promise<void> {
    await this.write(() => this.ledger.saveScore(this.job, fileName, ledgerScoreOf(score), outputPath));
    this.fileCalls.set(fileName, this.fileCalls.get(fileName) ?? 0);
  }

  async fileCallOnce(fileName: string, call: FileCall, send: () => Promise<void>): Promise<void> {
    const before = this.fileCalls.get(fileName);
    if (before === undefined) throw new WorkerError('wr_500', `no score of ${fileName} was kept before its ${call}`);
    const bit = FILE_CALL_BIT[call];
    if ((before & bit) !== 0) return;
    await this.callThrough({ file: fileName, call, tryId: randomUUID(), kind: 'sent' }, send, (applied) => {
      const now = this.fileCalls.get(fileName) ?? 0;
      this.fileCalls.set(fileName, applied ? now | bit : now & ~bit);
    });
  }

  /** Whether an attempt had the Hub apply this call (or sent it, and its answer was lost). */
  hasApplied(call: JobCall): boolean {
    return this.applied.has(call);
  }

  async jobCallOnce(call: JobCall, send: () => Promise<void>): Promise<void> {
    if (!this.applied.has(call)) await this.jobCall(call, send);
  }

  /**
   * Sends the call even when it was recorded: for a call the Hub proved it never got. Should this try be refused
   * too, the call stays as recorded before it.
   */
  async jobCall(call: JobCall, send: () => Promise<void>): Promise<void> {
    const before = this.applied.has(call);
    await this.callThrough({ call, tryId: randomUUID(), kind: 'sent' }, send, (applied) => {
      if (applied || before) this.applied.add(call);
      else this.applied.delete(call);
    });
  }

  /**
   * A status: sent, then recorded. A call that adds: recorded, then sent, the try withdrawn when the Hub surely did
   * not apply it; one whose answer was lost stays recorded. `mark` keeps this attempt's view in step.
   */
  private async callThrough(
    sent: CallFact,
    send: () => Promise<void>,
    mark: (applied: boolean) => void,
  ): Promise<void> {
    if (REPEATABLE_CALLS.has(sent.call)) {
      await send();
      await this.save(sent);
      mark(true);
      return;
    }
    await this.save(sent);
    mark(true);
    try {
      await send();
    } catch (error) {
      if (!answerWasLost(error)) {
        await this.save({ ...sent, kind: 'withdrawn' });
        mark(false);
      }
      throw error;
    }
  }

  private save(fact: CallFact): Promise<void> {
    return this.write(() => this.ledger.saveCallFact(this.job, fact));
  }

  private async write(save: () => Promise<void>): Promise<void> {
    try {
      await save();
    } catch (error) {
      throw new LedgerWriteError(error);
    }
  }
}
