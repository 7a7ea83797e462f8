import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { defer, type Observable } from 'rxjs';
import { WorkerError } from '../domain/errors.js';
import type { FileRun, FileScore } from '../domain/file-run.js';
import { s3Keys } from '../domain/s3-keys.js';
import { type CsvHead, type Scored, scalarReference, scoreScalar, TimeSeriesComparison } from '../domain/scoring.js';
import { type BuiltWorkspace, workspacePaths } from '../domain/workspace.js';
import type { CsvRows, FileFormats } from '../ports/file-formats.js';
import type { ObjectStore } from '../ports/object-store.js';
import { fetchObject } from '../streams/fetch-object.js';

export interface ScoreFilePorts {
  readonly store: ObjectStore;
  readonly files: FileFormats;
}

type RanFile = Extract<FileRun, { kind: 'ran' }>;

/** The submission's output could not be read as CSV: its fault, a failure of that file. */
class UnreadableOutput extends Error {}

const outputReader = (files: FileFormats, file: string) =>
  files.openCsv(file, (error) => new UnreadableOutput(`the output is not a readable CSV: ${error.message}`));

const referenceReader = (files: FileFormats, file: string, fileName: string) =>
  files.openCsv(
    file,
    (error) =>
      new WorkerError('wr_9', `the reference for ${fileName} is not a readable CSV: ${error.message}`, {
        cause: error,
      }),
  );

async function head(reader: CsvRows): Promise<CsvHead> {
  try {
    const header = await reader.next();
    return { header, row: header === undefined ? undefined : await reader.next() };
  } finally {
    reader.close();
  }
}

/** Both files in step, row by row: neither series is held in memory. */
async function compareSeries(
  files: FileFormats,
  ws: BuiltWorkspace,
  run: RanFile,
  referencePath: string,
): Promise<Scored> {
  const fileName = run.task.metadata.file_name;
  const output = outputReader(files, run.outputPath);
  const reference = referenceReader(files, referencePath, fileName);
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

async function compareScalars(
  files: FileFormats,
  ws: BuiltWorkspace,
  run: RanFile,
  referencePath: string,
): Promise<Scored> {
  const { metadata } = run.task;
  const [output, referenceFile] = await Promise.all([
    head(outputReader(files, run.outputPath)),
    head(referenceReader(files, referencePath, metadata.file_name)),
  ]);
  const system = ws.systems.get(Number(metadata.system_id));
  return scoreScalar(ws.config, metadata.file_name, run.executionTime, output, (reference) =>
    scalarReference(reference, referenceFile, system),
  );
}

async function compare(files: FileFormats, ws: BuiltWorkspace, run: RanFile, referencePath: string): Promise<Scored> {
  const missingCode = ws.config.comparisonType === 'scalar' ? 'op_9' : 'op_8';
  // lstat, not stat: the container wrote this folder, and a symbolic link there would be followed on the worker's
  // side (to its files, or /dev/zero); a FIFO would block the reader.
  const info = await lstat(run.outputPath).catch(() => undefined);
  if (info === undefined)
    return { ok: false, failure: { code: missingCode, message: 'the function ran but wrote no output file' } };
  if (!info.isFile()) {
    await rm(run.outputPath, { force: true });
    return {
      ok: false,
      failure: { code: missingCode, message: 'the output is not a regular file (a link or special file)' },
    };
  }
  try {
    return await (ws.config.comparisonType === 'scalar'
      ? compareScalars(files, ws, run, referencePath)
      : compareSeries(files, ws, run, referencePath));
  } catch (error) {
    if (error instanceof UnreadableOutput) return { ok: false, failure: { code: missingCode, message: error.message } };
    throw error;
  }
}

async function scoreRanFile(ws: BuiltWorkspace, run: RanFile, ports: ScoreFilePorts): Promise<FileScore> {
  const { task } = run;
  const fileName = task.metadata.file_name;
  const runDir = path.join(workspacePaths(ws.dir).runs, String(task.index));
  const referencePath = path.join(runDir, 'reference.csv');
  await mkdir(runDir, { recursive: true });
  try {
    await fetchObject(ports.store, s3Keys.reference(ws.job.analysisId, fileName), referencePath, 'wr_9');
    const scored = await compare(ports.files, ws, run, referencePath);
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
 * run's folder (what the container wrote beside its output, the reference copy). A failed run passes through; a
 * metric problem of the submission's output is a failed file with its code (op_8, op_9), which the Hub hears about
 * like any other failed file. A missing or unreadable reference is the task's fault and errors the Observable
 * (wr_9).
 */
export function scoreFile(ws: BuiltWorkspace, run: FileRun, ports: ScoreFilePorts): Observable<FileScore> {
  return defer(async (): Promise<FileScore> => {
    if (run.kind === 'failed') {
      // What a failed run left in its results folder (up to the results cap) must not pile up over a job's files.
      await rm(path.join(workspacePaths(ws.dir).runs, String(run.task.index)), { recursive: true, force: true });
      return { kind: 'failed', task: run.task, failure: run.failure, wallTimeMs: run.wallTimeMs };
    }
    return scoreRanFile(ws, run, ports);
  });
}
