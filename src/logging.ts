import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Job } from './domain/job.js';

/** Never log these, whatever object they hide in. */
const REDACT = ['password', '*.password', 'token', '*.token', '*.headers.authorization', '*.Authorization'];

const OPTIONS = { redact: REDACT, timestamp: pino.stdTimeFunctions.isoTime, base: { service: 'pvhub-worker' } };

/** The process logger: pino JSON on the given stream (stdout for the worker service). */
export function createRootLogger(level: string, stream: NodeJS.WritableStream = process.stdout): Logger {
  return pino({ ...OPTIONS, level }, stream);
}

export const JOB_LOG_FILE = 'submission.log.jsonl';

export interface JobLogger {
  readonly log: Logger;
  /** The folder of the log file, published with the job. */
  readonly dir: string;
  readonly file: string;
  /** Closes the log file (a worker that runs many jobs must not keep one descriptor per job). */
  readonly close: () => void;
}

/**
 * The logger of one submission: every line goes to <logsDir>/submission.log.jsonl, written synchronously so the
 * file is complete even if the process dies, and also to the console stream when one is given.
 */
export function createJobLogger(level: string, job: Job, logsDir: string, console?: NodeJS.WritableStream): JobLogger {
  mkdirSync(logsDir, { recursive: true });
  const file = path.join(logsDir, JOB_LOG_FILE);
  const destination = pino.destination({ dest: file, sync: true });
  let closed = false;
  // Steps of a cancelled job may still log while they stop: after close their lines are dropped, not thrown.
  const fileStream = { write: (line: string) => (closed ? undefined : destination.write(line)) };
  const streams: pino.StreamEntry[] = [{ level: 'trace', stream: fileStream }];
  if (console) streams.push({ level: 'trace', stream: console });
  const log = pino({ ...OPTIONS, level }, pino.multistream(streams)).child({
    submission: job.submissionId,
    analysis: job.analysisId,
  });
  return {
    log,
    dir: logsDir,
    file,
    close: () => {
      if (closed) return;
      closed = true;
      destination.end();
    },
  };
}
