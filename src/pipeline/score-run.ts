import { createReadStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, Transform } from 'node:stream';
import { parse } from 'fast-csv';
import { defer, type Observable } from 'rxjs';
import { WorkerError } from '../domain/errors.js';
import type { FileRun, FileScore } from '../domain/file-run.js';
import { s3Keys } from '../domain/s3-keys.js';
import { type CsvHead, type Scored, scalarReference, scoreScalar, TimeSeriesComparison } from '../domain/scoring.js';
import type { ObjectStore } from '../ports/object-store.js';
import { fetchObject } from './staging.js';
import { type BuiltWorkspace, workspacePaths } from './workspace.js';

type RanFile = Extract<FileRun, { kind: 'ran' }>;

/** The submission's output could not be read as CSV: its fault, a failure of that file. */
class UnreadableOutput extends Error {}

/** Rows of a CSV file one at a time, header included; `undefined` once the file has ended. */
interface CsvReader {
  next(): Promise<string[] | undefined>;
  close(): void;
}

/**
 * No CSV row of a time series or of a few scalars comes near this. The parser re-reads an unfinished row from its
 * start with every chunk, so one endless line written by a submission would cost quadratic time in the worker.
 */
const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Passes the bytes through, failing once a line runs past `maxBytes` without a line break. Only the line that spans
 * chunks is counted: the file stream's chunks (64 KiB) are far smaller than the limit.
 */
function lineLengthGuard(maxBytes: number): Transform {
  let run = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const first = chunk.indexOf(0x0a);
      const reached = run + (first < 0 ? chunk.length : first);
      run = first < 0 ? reached : chunk.length - chunk.lastIndexOf(0x0a) - 1;
      done(reached > maxBytes ? new Error(`a line is longer than ${maxBytes} bytes`) : null, chunk);
    },
  });
}

/**
 * Reads rows straight from the parser's buffer and waits only when it is empty: several times faster than the
 * stream's async iterator, which costs a few promises per row.
 */
function csvReader(file: string, describeError: (error: Error) => Error): CsvReader {
  // Blank lines are skipped as pandas skips them; a line of empty cells is a row of NaN, as in pandas.
  const parser = parse<string[], string[]>({ headers: false, trim: true });
  const source = createReadStream(file);
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  parser.on('readable', notify);
  parser.on('end', () => {
    ended = true;
    notify();
  });
  // pipeline, unlike pipe, hands a read error on to the parser's side, so a reader never waits forever.
  pipeline(source, lineLengthGuard(MAX_LINE_BYTES), parser, (error) => {
    if (error && !ended) failure = error;
    notify();
  });
  return {
    async next() {
      for (;;) {
        if (failure) throw describeError(failure);
        const row = parser.read() as string[] | null;
        if (row !== null) {
          if (row.length > 0) return row;
          continue;
        }
        if (ended) return undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    close() {
      source.destroy();
      parser.destroy();
    },
  };
}

const outputReader = (file: string) => csvReader(file, (error) => new UnreadableOutput(`the output is not a readable CSV: ${error.message}`));

const referenceReader = (file: string, fileName: string) =>
  csvReader(file, (error) => new WorkerError('wr_9', `the reference for ${fileName} is not a readable CSV: ${error.message}`, { cause: error }));

async function head(reader: CsvReader): Promise<CsvHead> {
  try {
    const header = await reader.next();
    return { header, row: header === undefined ? undefined : await reader.next() };
  } finally {
    reader.close();
  }
}

/** Both files in step, row by row: neither series is held in memory. */
async function compareSeries(ws: BuiltWorkspace, run: RanFile, referencePath: string): Promise<Scored> {
  const fileName = run.task.metadata.file_name;
  const output = outputReader(run.outputPath);
  const reference = referenceReader(referencePath, fileName);
  try {
    const [outputHeader, referenceHeader] = await Promise.all([output.next(), reference.next()]);
    const comparison = new TimeSeriesComparison(fileName, outputHeader, referenceHeader);
    let outputRow = await output.next();
    let referenceRow = await reference.next();
    while ((outputRow !== undefined || referenceRow !== undefined) && comparison.add(outputRow, referenceRow)) {
      if (outputRow !== undefined) outputRow = await output.next();
      if (referenceRow !== undefined) referenceRow = await reference.next();
    }
    return comparison.result(ws.config, run.executionTime);
  } finally {
    output.close();
    reference.close();
  }
}

async function compareScalars(ws: BuiltWorkspace, run: RanFile, referencePath: string): Promise<Scored> {
  const { metadata } = run.task;
  const [output, referenceFile] = await Promise.all([head(outputReader(run.outputPath)), head(referenceReader(referencePath, metadata.file_name))]);
  const system = ws.systems.get(Number(metadata.system_id));
  return scoreScalar(ws.config, metadata.file_name, run.executionTime, output, (reference) => scalarReference(reference, referenceFile, system));
}

async function compare(ws: BuiltWorkspace, run: RanFile, referencePath: string): Promise<Scored> {
  const missingCode = ws.config.comparisonType === 'scalar' ? 'op_9' : 'op_8';
  // lstat, not stat: the container wrote this folder, and a symbolic link there would be followed on the worker's
  // side (to its files, or /dev/zero); a FIFO would block the reader.
  const info = await lstat(run.outputPath).catch(() => undefined);
  if (info === undefined) return { ok: false, failure: { code: missingCode, message: 'the function ran but wrote no output file' } };
  if (!info.isFile()) {
    await rm(run.outputPath, { force: true });
    return { ok: false, failure: { code: missingCode, message: 'the output is not a regular file (a link or special file)' } };
  }
  try {
    return await (ws.config.comparisonType === 'scalar' ? compareScalars(ws, run, referencePath) : compareSeries(ws, run, referencePath));
  } catch (error) {
    if (error instanceof UnreadableOutput) return { ok: false, failure: { code: missingCode, message: error.message } };
    throw error;
  }
}

async function scoreRanFile(ws: BuiltWorkspace, run: RanFile, store: ObjectStore): Promise<FileScore> {
  const { task } = run;
  const fileName = task.metadata.file_name;
  const runDir = path.join(workspacePaths(ws.dir).runs, String(task.index));
  const referencePath = path.join(runDir, 'reference.csv');
  await mkdir(runDir, { recursive: true });
  try {
    await fetchObject(store, s3Keys.reference(ws.job.analysisId, fileName), referencePath, 'wr_9');
    const scored = await compare(ws, run, referencePath);
    // Kept for failed files too: the author needs the output that could not be scored.
    const kept = path.join(workspacePaths(ws.dir).resultFiles, fileName);
    await mkdir(path.dirname(kept), { recursive: true });
    await rename(run.outputPath, kept).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    const log = ws.log.child({ file: fileName });
    if (scored.ok) {
      log.debug({ values: scored.row.values }, 'file scored');
      return { kind: 'scored', run, row: scored.row };
    }
    log.warn({ code: scored.failure.code }, scored.failure.message);
    return { kind: 'failed', task, failure: scored.failure, wallTimeMs: run.wallTimeMs };
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

/**
 * Scores one finished run against the task's reference (fetched here, never seen by the container), then removes the
 * run's folder (what the container wrote beside its output, the reference copy). A failed run passes through; a metric problem of the submission's output is a failed file with its code (op_8, op_9), which the
 * Hub hears about like any other failed file, where the original dropped it silently. A missing or unreadable
 * reference is the task's fault and errors the Observable (wr_9).
 */
export function scoreRun(ws: BuiltWorkspace, run: FileRun, store: ObjectStore): Observable<FileScore> {
  return defer(async (): Promise<FileScore> => {
    if (run.kind === 'failed') {
      // What a failed run left in its results folder (up to the results cap) must not pile up over a job's files.
      await rm(path.join(workspacePaths(ws.dir).runs, String(run.task.index)), { recursive: true, force: true });
      return { kind: 'failed', task: run.task, failure: run.failure, wallTimeMs: run.wallTimeMs };
    }
    return scoreRanFile(ws, run, store);
  });
}
