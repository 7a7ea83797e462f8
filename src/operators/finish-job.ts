import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { aggregate, type Aggregation, type ResultsTable } from '../domain/aggregate.js';
import { asWorkerError, WorkerError } from '../domain/errors.js';
import { faultBehind } from '../domain/infrastructure-fault.js';
import type { JobEvent } from '../domain/job-event.js';
import type { FileList } from '../domain/file-list.js';
import { type Cell, executionTimeCsv, fullResultsHeader, fullResultsLine } from '../domain/results-csv.js';
import type { Tally } from '../domain/tally.js';
import { type BuiltWorkspace, workspacePaths } from '../domain/workspace.js';
import type { HubApi } from '../ports/hub-api.js';
import { RESULT_FILES, type ResultsPublisher } from '../ports/results-publisher.js';
import type { LedgerSession } from '../sinks/ledger-session.js';
import { reportHtml } from '../sinks/report-html.js';
import { fromAbortable } from '../streams/from-abortable.js';
import type { JobReport } from './job-report.js';

export interface FinishPorts {
  readonly hub: HubApi;
  readonly publisher: ResultsPublisher;
  /** The job's ledger: the final status is recorded there, so a rerun after it only settles the message. */
  readonly ledger: LedgerSession;
}

/** What the finish needs besides its ports: the job's report (its container perhaps started already). */
interface FinishContext extends FinishPorts {
  readonly report: JobReport;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** A file written part by part as they are made: a results file of 10,000 lines is never one string. */
const writeParts = (file: string, parts: Iterable<string> | AsyncIterable<string>) =>
  pipeline(Readable.from(parts), createWriteStream(file));

/** Which report private_results.html is, and what a person should know about it (one line). */
interface WrittenReport {
  readonly fromTemplate: boolean;
  readonly note: string | undefined;
}

/**
 * The task's marimo template when it ships one, else (or when it fails) the built-in report. A template's failure is
 * the task's, not the participant's: it is logged, never sent to the Hub (where it would count in the submission's
 * error rate), and never costs the results. A report marimo exported with some cells failed is kept, as the Hub
 * shows it. A fault of ours that outlasts the retries (InfrastructureFault) fails the job as ours: the Hub must not
 * hear it as the template's. A cancelled job stops here.
 */
async function writeReport(
  built: BuiltWorkspace,
  /** The full results for the task's template; undefined: the task has none. */
  table: ResultsTable | undefined,
  builtIn: (note?: string) => Iterable<string>,
  outPath: string,
  deps: FinishContext,
  signal: AbortSignal,
): Promise<WrittenReport> {
  let note: string;
  if (table === undefined) {
    note = 'the task has no template.py; the built-in report was written';
  } else {
    try {
      const { cellsFailed } = await deps.report.render(built, table, outPath, signal);
      return {
        fromTemplate: true,
        note: cellsFailed
          ? "some cells of the task's report template failed; marimo's report shows their errors"
          : undefined,
      };
    } catch (error) {
      signal.throwIfAborted();
      const fault = faultBehind(error);
      if (fault !== undefined) throw fault;
      note = `the task's report template failed (${(error as Error).message}); the built-in report was written`;
    }
  }
  built.log.warn(note);
  await writeParts(outPath, builtIn(note));
  return { fromTemplate: false, note };
}

/** The files' metadata in the task's order, read from the file list one at a time. */
async function* metadataOf(files: FileList) {
  for await (const task of files.each()) yield task.metadata;
}

/**
 * submission_full_results.csv written line by line as the aggregation's second reading of the file list makes them.
 * The table is kept only for a task's template, whose report container takes its rows at once.
 */
async function writeFullResults(
  built: BuiltWorkspace,
  tally: Tally,
  csvPath: string,
): Promise<{ aggregation: Aggregation; table: ResultsTable | undefined }> {
  const { aggregation, rows } = await aggregate(built.config, tally, () => metadataOf(built.files));
  const kept: Cell[][] | undefined = built.templatePath === undefined ? undefined : [];
  async function* lines() {
    yield fullResultsHeader(aggregation);
    let index = 0;
    for await (const cells of rows()) {
      kept?.push(cells);
      yield fullResultsLine(aggregation, index, cells);
      index += 1;
    }
  }
  await writeParts(csvPath, lines());
  return { aggregation, table: kept && { ...aggregation, rows: kept } };
}

/** A failed step of the finish, with the code of its kind when it has none of its own. */
async function withCode<T>(code: 'wr_1' | 'wr_4' | 'wr_5', step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw asWorkerError(error, code);
  }
}

async function finish(
  built: BuiltWorkspace,
  tally: Tally,
  deps: FinishContext,
  signal: AbortSignal,
): Promise<JobEvent> {
  const { config, job, log } = built;
  if (tally.rows.length === 0) {
    // The submission's failure on every file, not the worker's: op_7, the code of a job that scored nothing.
    const first = tally.failed[0];
    const example = first ? `; ${first.fileName}: ${first.failure.code}: ${first.failure.message}` : '';
    throw new WorkerError(
      'op_7',
      `every file failed (${tally.failed.length} of ${tally.total}), nothing could be scored${example}`,
    );
  }
  const paths = workspacePaths(built.dir);
  await mkdir(paths.resultFiles, { recursive: true });
  const { aggregation, table } = await writeFullResults(
    built,
    tally,
    path.join(paths.results, RESULT_FILES.fullResults),
  );
  const { publicResults, privateResults } = aggregation;
  const firstFile = tally.rows.fileName(0);
  await Promise.all([
    writeFile(path.join(paths.results, config.publicResultsTable), json(publicResults)),
    writeFile(path.join(paths.results, config.privateResultsTable), json(privateResults)),
    writeParts(path.join(paths.results, RESULT_FILES.executionTimes), executionTimeCsv(tally.rows)),
    writeFile(
      path.join(paths.results, RESULT_FILES.functionInfo),
      json({
        data_file_name: firstFile,
        function_name: config.functionName,
        function_parameters: publicResults.function_parameters,
      }),
    ),
  ]);
  const builtIn = (note?: string) =>
    reportHtml({ config, publicResults, privateResults, rows: tally.rows, failed: tally.failed, note });
  // The built-in report is written in any case: it is self-contained, where a marimo export loads its page from a CDN.
  await writeParts(path.join(paths.results, RESULT_FILES.builtInReport), builtIn());
  // The private report renders while the other results go out; it is written beside results/, published on its own.
  await mkdir(paths.report, { recursive: true });
  const reportPath = path.join(paths.report, RESULT_FILES.report);
  const rendering = writeReport(built, table, builtIn, reportPath, deps, signal);
  rendering.catch(() => undefined);
  log.info(
    {
      files: privateResults.number_of_files,
      leaderboard: publicResults.number_of_files,
      metrics: publicResults.metrics,
    },
    'results written',
  );

  // Results stored first, final status last: the Hub never lists a finished submission without its results (the
  // report among them). Only the report's upload waits for its render. A job cancelled or out of time meanwhile
  // stops between the steps: it must not set finished after failed was set.
  signal.throwIfAborted();
  await withCode('wr_1', () =>
    deps.publisher.publishResults(job, paths.results, {
      publicResultsTable: config.publicResultsTable,
      privateResultsTable: config.privateResultsTable,
    }),
  );
  signal.throwIfAborted();
  await withCode('wr_4', () => deps.hub.updateResult(job.submissionId, publicResults));
  const report = await rendering;
  signal.throwIfAborted();
  await withCode('wr_1', () => deps.publisher.publishReport(job, reportPath));
  signal.throwIfAborted();
  await withCode('wr_5', () =>
    deps.ledger.jobCallOnce('status-finished', () => deps.hub.setStatus(job.submissionId, 'finished')),
  );
  log.info('submission finished');
  return {
    type: 'finished',
    publicResults,
    privateResults,
    tally,
    reportWarning: report.note,
    reportFromTemplate: report.fromTemplate,
  };
}

/**
 * The job's last step, once its files are scored: the results folder of contract §6–7 (public and private tables,
 * full results, execution times, function info, report), then the fixed order publish → result PUT → report upload
 * → status finished, the report rendering meanwhile (in the container `report` may have started during the files;
 * else one starts now). Emits `finished`; errors with a WorkerError when nothing could be scored or a step
 * fails. Unsubscribing stops the report's container, and the steps after it.
 */
export function finishJob(
  workspace: BuiltWorkspace,
  tally: Tally,
  ports: FinishPorts,
  report: JobReport,
): Observable<JobEvent> {
  return fromAbortable((signal) => finish(workspace, tally, { ...ports, report }, signal));
}
