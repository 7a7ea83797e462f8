import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from '../domain/job.js';
import {
  type CallFact,
  isFileCall,
  isJobCall,
  type LedgerRecord,
  type LedgerScore,
  ledgerRecordOf,
  parseLedgerScore,
} from '../domain/ledger.js';
import { s3Keys } from '../domain/s3-keys.js';
import type { JobLedger } from '../ports/job-ledger.js';
import { ObjectNotFoundError, type ObjectStore } from '../ports/object-store.js';

const LEDGER = 'ledger/';
const FILES = 'files/';
const CALLS = 'calls/';
const STOPS = 'stops/';
/** The scope of the job's own calls; a file's is `file-` and its name, encoded to one segment of the key. */
const JOB_SCOPE = 'job';
const FILE_SCOPE = 'file-';
/** Entries read at once when a rerun loads the ledger of a task of thousands of files. */
const LOAD_CONCURRENCY = 16;

/**
 * The ledger in the bucket, under the submission's `ledger/` beside its results: one small object per file's score,
 * one per call fact, `calls/<scope>/<call>/<try>.<sent|withdrawn>`, and one per attempt handed back on a stop,
 * `stops/<attempt>.json`, so each save is constant in size whatever the number of files, and none is ever written
 * over (domain/ledger.ts says why). The facts are in the keys: a load lists them, and reads only the scores. A
 * file's output is uploaded to its place among the results (and leaves the workspace) before its score is kept.
 */
export class StoreLedger implements JobLedger {
  constructor(private readonly store: ObjectStore) {}

  private prefix(job: Job): string {
    return `${s3Keys.submissionPrefix(job)}${LEDGER}`;
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
    const prefix = this.prefix(job);
    const keys = (await this.store.list(prefix)).map((key) => key.slice(prefix.length));
    const facts = keys.flatMap((key) => {
      const fact = key.startsWith(CALLS) ? callFactOfKey(key.slice(CALLS.length)) : undefined;
      return fact ? [fact] : [];
    });
    const scoreKeys = keys.filter((key) => key.startsWith(FILES) && key.endsWith('.json'));
    const scores = await withScratch(async (scratch) => {
      const read = new Map<string, LedgerScore>();
      for (let start = 0; start < scoreKeys.length; start += LOAD_CONCURRENCY) {
        const batch = scoreKeys.slice(start, start + LOAD_CONCURRENCY);
        const entries = await Promise.all(
          batch.map(async (key) => [key, parseLedgerScore(await this.readJson(prefix + key, scratch))] as const),
        );
        for (const [key, score] of entries) if (score) read.set(key.slice(FILES.length, -'.json'.length), score);
      }
      return read;
    });
    return ledgerRecordOf(scores, facts, keys.filter((key) => key.startsWith(STOPS)).length);
  }

  async saveScore(job: Job, fileName: string, score: LedgerScore, outputPath?: string): Promise<void> {
    if (outputPath !== undefined) {
      await this.store.upload(s3Keys.result(job, `files/${fileName}`), outputPath, 'text/csv');
      // Kept in the bucket now: the results' upload at the job's end need not send it again.
      await rm(outputPath, { force: true });
    }
    await this.writeJson(`${this.prefix(job)}${FILES}${fileName}.json`, { score });
  }

  async saveCallFact(job: Job, fact: CallFact): Promise<void> {
    await this.writeJson(`${this.prefix(job)}${CALLS}${keyOfCallFact(fact)}`, { at: new Date().toISOString() });
  }

  async saveStop(job: Job, attemptId: string): Promise<void> {
    await this.writeJson(`${this.prefix(job)}${STOPS}${attemptId}.json`, { at: new Date().toISOString() });
  }
}

export function keyOfCallFact(fact: CallFact): string {
  const scope = fact.file === undefined ? JOB_SCOPE : `${FILE_SCOPE}${encodeURIComponent(fact.file)}`;
  return `${scope}/${fact.call}/${fact.tryId}.${fact.kind}`;
}

/** The fact a key under `calls/` names, or undefined when it names none (written by another version). */
export function callFactOfKey(key: string): CallFact | undefined {
  const [scope, call, name, ...more] = key.split('/');
  const match = /^([\w-]+)\.(sent|withdrawn)$/.exec(name ?? '');
  if (scope === undefined || call === undefined || match === null || more.length > 0) return undefined;
  const tryId = match[1] ?? '';
  const kind = match[2] === 'sent' ? 'sent' : 'withdrawn';
  if (scope === JOB_SCOPE) return isJobCall(call) ? { call, tryId, kind } : undefined;
  if (!scope.startsWith(FILE_SCOPE) || !isFileCall(call)) return undefined;
  try {
    return { file: decodeURIComponent(scope.slice(FILE_SCOPE.length)), call, tryId, kind };
  } catch {
    return undefined;
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
