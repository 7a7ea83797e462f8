import { renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { JOB_RECORD_FILE, type JobRecord, jobRecordText, parseJobRecord } from '../domain/job-record.js';

/** Writes the record into the log folder, whole or not at all (a worker may die in the middle). */
export function writeJobRecord(logsDir: string, record: JobRecord): void {
  const file = path.join(logsDir, JOB_RECORD_FILE);
  writeFileSync(`${file}.partial`, jobRecordText(record));
  renameSync(`${file}.partial`, file);
}

/** The record of a log folder; undefined when it has none that reads (its worker died before writing it). */
export async function readJobRecord(logsDir: string): Promise<JobRecord | undefined> {
  try {
    return parseJobRecord(await readFile(path.join(logsDir, JOB_RECORD_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}
