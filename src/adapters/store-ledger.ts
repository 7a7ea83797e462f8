import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from '../domain/job.js';
import { type JobCall, type LedgerFile, type LedgerRecord, parseJobCalls, parseLedgerFile } from '../domain/ledger.js';
import { s3Keys } from '../domain/s3-keys.js';
import type { JobLedger } from '../ports/job-ledger.js';
import { ObjectNotFoundError, type ObjectStore } from '../ports/object-store.js';

const JOB_ENTRY = 'job.json';
const FILES = 'files/';
/** Entries read at once when a rerun loads the ledger of a task of thousands of files. */
const LOAD_CONCURRENCY = 16;

/**
 * The ledger in the bucket, under the submission's `ledger/` beside its results: one small object per file (its
 * score and the calls applied) and one for the job's calls, so each save is constant in size whatever the number of
 * files. A file's output is uploaded to its place among the results (and leaves the workspace) before its entry says
 * it was scored.
 */
export class StoreLedger implements JobLedger {
  constructor(private readonly store: ObjectStore) {}

  private key(job: Job, name: string): string {
    return `${s3Keys.submissionPrefix(job)}ledger/${name}`;
  }

  private async readJson(key: string, scratch: string): Promise<unknown> {
    const file = path.join(scratch, encodeURIComponent(key));
    try {
      await this.store.download(key, file);
      return JSON.parse(await readFile(file, 'utf8')) as unknown;
    } catch (error) {
      if (error instanceof ObjectNotFoundError || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  private async writeJson(key: string, value: unknown): Promise<void> {
    await withScratch(async (scratch) => {
      const file = path.join(scratch, 'entry.json');
      await writeFile(file, JSON.stringify(value));
      await this.store.upload(key, file, 'application/json');
    });
  }

  async load(job: Job): Promise<LedgerRecord> {
    return withScratch(async (scratch) => {
      const prefix = this.key(job, FILES);
      const keys = (await this.store.list(prefix)).filter((key) => key.endsWith('.json'));
      const files = new Map<string, LedgerFile>();
      for (let start = 0; start < keys.length; start += LOAD_CONCURRENCY) {
        const batch = keys.slice(start, start + LOAD_CONCURRENCY);
        const entries = await Promise.all(
          batch.map(async (key) => [key, parseLedgerFile(await this.readJson(key, scratch))] as const),
        );
        for (const [key, entry] of entries) if (entry) files.set(key.slice(prefix.length, -'.json'.length), entry);
      }
      const applied = new Set(parseJobCalls(await this.readJson(this.key(job, JOB_ENTRY), scratch)));
      return { files, applied };
    });
  }

  async saveFile(job: Job, fileName: string, entry: LedgerFile, outputPath?: string): Promise<void> {
    if (outputPath !== undefined) {
      await this.store.upload(s3Keys.result(job, `files/${fileName}`), outputPath, 'text/csv');
      // Kept in the bucket now: the results' upload at the job's end need not send it again.
      await rm(outputPath, { force: true });
    }
    await this.writeJson(this.key(job, `${FILES}${fileName}.json`), entry);
  }

  async saveJobCalls(job: Job, applied: readonly JobCall[]): Promise<void> {
    await this.writeJson(this.key(job, JOB_ENTRY), applied);
  }
}

async function withScratch<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-ledger-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
