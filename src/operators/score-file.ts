import { lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { defer, type Observable } from 'rxjs';
import { cellTexts } from '../domain/csv-cells.js';
import { WorkerError } from '../domain/errors.js';
import { plainText } from '../domain/plain-text.js';
import type { FileRun, FileScore } from '../domain/file-run.js';
import { s3Keys } from '../domain/s3-keys.js';
import {
  type CsvHead,
  outputByteLimit,
  type Scored,
  scalarReference,
  scoreScalar,
  TimeSeriesComparison,
} from '../domain/scoring.js';
import { type BuiltWorkspace, workspacePaths } from '../domain/workspace.js';
import type { CsvRows, FileFormats } from '../ports/file-formats.js';
import type { ObjectStore } from '../ports/object-store.js';
import { fetchObject } from '../streams/fetch-object.js';

export interface ScoreFilePorts {
  readonly store: ObjectStore;
  readonly files: FileFormats;
}

type RanFile = Extract<FileRun, { kind: 'ran' }>;

/** Longest the worker spends reading one output: an honest one of any task takes seconds. */
const SCORING_DEADLINE_MS = 60_000;

/** The submission's output could not be read as CSV: its fault, a failure of that file. */
class UnreadableOutput extends Error {}

const unreadableOutput = (error: Error) => new UnreadableOutput(`the output is not a readable CSV: ${error.message}`);

const unreadableReference = (fileName: string) => (error: Error) =>
  new WorkerError('wr_9', `the reference for ${fileName} is not a readable CSV: ${error.message}`, { cause: error });

async function head(reader: CsvRows): Promise<CsvHead> {
  try {
    const header = await reader.next();
    return { header, row: header === undefined ? undefined : await reader.next() };
  } finally {
    reader.close();
  }
}

/**
 * Both files in step, row by row: neither series is held in memory. Bounded by the reference: an output over its byte
 * limit is not read, one longer than the reference is read no further, and none is read past the deadline.
 */
async function compareSeries(
  files: FileFormats,
  ws: BuiltWorkspace,
  run: RanFile,
  referencePath: string,
  deadlineMs: number,
): Promise<Scored> {
  const fileName = run.task.metadata.file_name;
  const [outputFile, referenceFile] = await Promise.all([stat(run.outputPath), stat(referencePath)]);
  const byteLimit = outputByteLimit(referenceFile.size);
  if (outputFile.size > byteLimit) {
    return {
      ok: false,
      failure: {
        code: 'op_8',
        message: `the output is ${outputFile.size} bytes, more than the ${byteLimit} a series as long as the reference can take`,
      },
    };
  }
  const deadline = Date.now() + deadlineMs;
  const output = files.scanCsv(run.outputPath, unreadableOutput);
  const reference = files.scanCsv(referencePath, unreadableReference(fileName));
  try {
    const [outputHeader, referenceHeader] = await Promise.all([output.next(), reference.next()]);
    const comparison = new TimeSeriesComparison(
      fileName,
      outputHeader && cellTexts(outputHeader),
      referenceHeader && cellTexts(referenceHeader),
    );
    // A row is awaited only when its reader has to read on: the rows of a chunk already read are taken at once.
    let outputRow = output.next();
    if (outputRow instanceof Promise) outputRow = await outputRow;
    let referenceRow = reference.next();
    if (referenceRow instanceof Promise) referenceRow = await referenceRow;
    while ((outputRow !== undefined || referenceRow !== undefined) && comparison.addCells(outputRow, referenceRow)) {
      if (Date.now() > deadline)
        return {
          ok: false,
          failure: { code: 'op_8', message: `scoring the output took longer than ${deadlineMs / 1000} s` },
        };
      if (outputRow !== undefined) {
        outputRow = output.next();
        if (outputRow instanceof Promise) outputRow = await outputRow;
      }
      if (referenceRow !== undefined) {
        referenceRow = reference.next();
        if (referenceRow instanceof Promise) referenceRow = await referenceRow;
      }
    }
    return comparison.result(ws.config, run.executionTime);
  } finally {
    output.close();
    reference.close();
  }
}

async function compareScalars(
  files: FileFormats,
  ws: BuiltWorkspace,
  run: RanFile,
  referencePath: string,
): Promise<Scored> {
  const { metadata } = run.task;
  const [output, referenceFile] = await Promise.all([
    head(files.openCsv(run.outputPath, unreadableOutput)),
    head(files.openCsv(referencePath, unreadableReference(metadata.file_name))),
  ]);
  const system = ws.systems.get(Number(metadata.system_id));
  return scoreScalar(ws.config, metadata.file_name, run.executionTime, output, (reference) =>
    scalarReference(reference, referenceFile, system),
  );
}

async function compare(
  files: FileFormats,
  ws: BuiltWorkspace,
  run: RanFile,
  referencePath: string,
  deadlineMs: number,
): Promise<Scored> {
  const missingCode = ws.config.comparisonType === 'scalar' ? 'op_9' : 'op_8';
  // The engine copied the output's bytes into a file of the worker's, or left none: nothing else is here to follow.
  const info = await lstat(run.outputPath).catch(() => undefined);
  if (info?.isFile() !== true)
    return {
      ok: false,
      failure: { code: missingCode, message: run.outputProblem ?? 'the function ran but wrote no output file' },
    };
  try {
    return await (ws.config.comparisonType === 'scalar'
      ? compareScalars(files, ws, run, referencePath)
      : compareSeries(files, ws, run, referencePath, deadlineMs));
  } catch (error) {
    if (error instanceof UnreadableOutput) return { ok: false, failure: { code: missingCode, message: error.message } };
    throw error;
  }
}

async function scoreRanFile(
  ws: BuiltWorkspace,
  run: RanFile,
  ports: ScoreFilePorts,
  deadlineMs: number,
): Promise<FileScore> {
  const { task } = run;
  const fileName = task.metadata.file_name;
  const runDir = path.join(workspacePaths(ws.dir).runs, String(task.index));
  const referencePath = path.join(runDir, 'reference.csv');
  await mkdir(runDir, { recursive: true });
  try {
    await fetchObject(ports.store, s3Keys.reference(ws.job.analysisId, fileName), referencePath, 'wr_9');
    const scored = await compare(ports.files, ws, run, referencePath, deadlineMs);
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
    // It may quote the submission's output: no control codes on their way to a terminal, a log message or the Hub.
    const failure = { ...scored.failure, message: plainText(scored.failure.message) };
    log.warn({ code: failure.code }, failure.message);
    return { kind: 'failed', task, failure, wallTimeMs: run.wallTimeMs };
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

/**
 * Scores one finished run against the task's reference (fetched here, never seen by the container), then removes the
 * run's folder (what the container wrote beside its output, the reference copy). A failed run passes through; a
 * metric problem of the submission's output is a failed file with its code (op_8, op_9), which the Hub hears about
 * like any other failed file. A missing or unreadable reference is the task's fault and errors the Observable
 * (wr_9).
 */
export function scoreFile(
  ws: BuiltWorkspace,
  run: FileRun,
  ports: ScoreFilePorts,
  deadlineMs = SCORING_DEADLINE_MS,
): Observable<FileScore> {
  return defer(async (): Promise<FileScore> => {
    if (run.kind === 'failed') {
      // What a failed run left in its results folder (up to the results cap) must not pile up over a job's files.
      await rm(path.join(workspacePaths(ws.dir).runs, String(run.task.index)), { recursive: true, force: true });
      return { kind: 'failed', task: run.task, failure: run.failure, wallTimeMs: run.wallTimeMs };
    }
    return scoreRanFile(ws, run, ports, deadlineMs);
  });
}
