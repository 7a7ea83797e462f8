import { WorkerError } from './errors.js';

/** One submission to evaluate: the SQS message body of contract §1, in the worker's own names. */
export interface Job {
  readonly analysisId: number;
  readonly submissionId: number;
  readonly userId: string;
  readonly submissionFilename: string;
  readonly pythonVersion: string;
}

const PYTHON_VERSION = /^3\.\d{1,2}$/;

function positiveInt(body: Record<string, unknown>, key: string): number {
  const value = body[key];
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number <= 0) {
    throw new WorkerError('wr_500', `message field "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

function nonEmptyString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.trim() === '') {
    throw new WorkerError('wr_500', `message field "${key}" must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Reads the submission id even from a body that is otherwise invalid, so the failure can be reported. */
export function submissionIdOf(raw: string): number | undefined {
  try {
    const body: unknown = JSON.parse(raw);
    if (typeof body !== 'object' || body === null) return undefined;
    const value = (body as Record<string, unknown>)['submission_pk'];
    const id = typeof value === 'string' ? Number(value) : value;
    return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Validates a queue message body (fields and types) into a Job. */
export function parseJobMessage(raw: string): Job {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new WorkerError('wr_500', `message body is not JSON: ${raw.slice(0, 200)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WorkerError('wr_500', 'message body must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  const submissionFilename = nonEmptyString(fields, 'submission_filename');
  if (submissionFilename.includes('/') || submissionFilename.includes('\\') || submissionFilename.startsWith('.')) {
    throw new WorkerError(
      'wr_500',
      `message field "submission_filename" must be a plain file name, got ${submissionFilename}`,
    );
  }
  const pythonVersion = nonEmptyString(fields, 'python_version');
  if (!PYTHON_VERSION.test(pythonVersion)) {
    throw new WorkerError('wr_500', `message field "python_version" must look like "3.11", got ${pythonVersion}`);
  }
  return {
    analysisId: positiveInt(fields, 'analysis_pk'),
    submissionId: positiveInt(fields, 'submission_pk'),
    userId: nonEmptyString(fields, 'user_pk'),
    submissionFilename,
    pythonVersion,
  };
}

/** The message body of contract §1 for this job: what parseJobMessage reads back. */
export function jobMessage(job: Job): Record<string, unknown> {
  return {
    analysis_pk: job.analysisId,
    submission_pk: job.submissionId,
    user_pk: job.userId,
    submission_filename: job.submissionFilename,
    python_version: job.pythonVersion,
  };
}

/** Labels on everything a worker creates for a submission, so what a job leaves can be found and removed. */
export function jobLabels(job: Pick<Job, 'submissionId'>): Record<string, string> {
  return { 'pvhub.managed': 'true', 'pvhub.submission': String(job.submissionId) };
}
