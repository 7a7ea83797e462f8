import { WorkerError } from './errors.js';
import { type Job, jobMessage, parseJobMessage } from './job.js';
import { isWorkerId } from './ownership.js';

/**
 * Which job a log folder is the log of, written beside the log when it is made: the worker that finds the folder
 * of a worker that died knows from it where in the bucket the log belongs.
 */
export interface JobRecord {
  readonly job: Job;
  readonly worker: string;
  /** When the attempt started, ms. */
  readonly startedAt: number;
}

export const JOB_RECORD_FILE = 'job.json';

/** The record as written: the job as its message says it (contract §1), so reading it back checks it as one. */
export const jobRecordText = (record: JobRecord): string =>
  `${JSON.stringify({ message: jobMessage(record.job), worker: record.worker, startedAt: record.startedAt })}\n`;

export function parseJobRecord(text: string): JobRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WorkerError('wr_500', 'the job record is not JSON');
  }
  const { message, worker, startedAt } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
    string,
    unknown
  >;
  if (typeof worker !== 'string' || !isWorkerId(worker))
    throw new WorkerError('wr_500', `the job record names no worker: ${JSON.stringify(worker)}`);
  if (typeof startedAt !== 'number' || !Number.isSafeInteger(startedAt) || startedAt < 0)
    throw new WorkerError('wr_500', `the job record has no start time: ${JSON.stringify(startedAt)}`);
  return { job: parseJobMessage(JSON.stringify(message)), worker, startedAt };
}

/** The name of the attempt's log among the submission's logs: when it started and which worker ran it. */
export const attemptName = (record: Pick<JobRecord, 'worker' | 'startedAt'>): string =>
  `${new Date(record.startedAt).toISOString().replace(/[-:]|\.\d+/g, '')}-${record.worker}`;
