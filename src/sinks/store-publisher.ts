import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkerError } from '../domain/errors.js';
import type { Job } from '../domain/job.js';
import { textLogs } from '../domain/log-format.js';
import { s3Keys } from '../domain/s3-keys.js';
import { JOB_LOG_FILE } from '../logging.js';
import type { ObjectStore } from '../ports/object-store.js';
import { RESULT_FILES, type ResultsPublisher } from '../ports/results-publisher.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.jsonl': 'application/x-ndjson',
  '.log': 'text/plain',
};

const TEXT_LOG_FILE = 'submission.log';
const ERROR_LOG_FILE = 'submission.error.log';
const LOG_FILES = [JOB_LOG_FILE, TEXT_LOG_FILE, ERROR_LOG_FILE];

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) found.push(...(await filesUnder(path.join(dir, entry.name), `${prefix}${entry.name}/`)));
    else if (entry.isFile()) found.push(`${prefix}${entry.name}`);
  }
  return found;
}

/**
 * Whether a file of the results folder goes to the Hub. The Hub's front end opens the first `.html` under results/,
 * so the private report, published on its own (publishReport), must be the only one there: the built-in report.html
 * of the results folder is for local runs.
 */
const isHubResult = (relative: string) => path.extname(relative).toLowerCase() !== '.html';

/** Publishes into an ObjectStore (S3) under the contract's keys: results/… and logs/… of the submission. */
export class StorePublisher implements ResultsPublisher {
  constructor(private readonly store: ObjectStore) {}

  private async uploadAll(
    dir: string,
    keyOf: (relative: string) => string,
    include: (relative: string) => boolean = () => true,
  ): Promise<void> {
    for (const relative of (await filesUnder(dir)).filter(include)) {
      const key = keyOf(relative);
      try {
        await this.store.upload(key, path.join(dir, relative), contentTypeOf(relative));
      } catch (error) {
        if (error instanceof WorkerError) throw error;
        throw new WorkerError('wr_1', `upload of ${key} failed: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  async publishResults(job: Job, resultsDir: string): Promise<void> {
    await this.uploadAll(resultsDir, (relative) => s3Keys.result(job, relative), isHubResult);
  }

  async publishReport(job: Job, reportPath: string): Promise<void> {
    const key = s3Keys.result(job, RESULT_FILES.report);
    try {
      await this.store.upload(key, reportPath, contentTypeOf(reportPath));
    } catch (error) {
      throw new WorkerError('wr_1', `upload of ${key} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Uploads the JSON log with the text and error logs derived from it (contract §9 names), under logs/, or an
   * earlier attempt's under logs/attempts/<attempt>/; nothing else of the folder (the job's record).
   */
  async publishLogs(job: Job, logsDir: string, attempt?: string): Promise<void> {
    const jsonl = await readFile(path.join(logsDir, JOB_LOG_FILE), 'utf8').catch(() => '');
    const { all, errors } = textLogs(jsonl);
    await writeFile(path.join(logsDir, TEXT_LOG_FILE), all);
    await writeFile(path.join(logsDir, ERROR_LOG_FILE), errors);
    const keyOf = (name: string) =>
      attempt === undefined ? s3Keys.log(job, name) : s3Keys.attemptLog(job, attempt, name);
    await this.uploadAll(logsDir, keyOf, (relative) => LOG_FILES.includes(relative));
  }
}
