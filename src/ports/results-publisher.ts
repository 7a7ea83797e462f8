import type { Job } from '../domain/job.js';

/**
 * Where a finished job's files go: S3 under the contract's keys, or an output folder for local runs.
 * Both take a local results folder laid out as the contract's results/ (public and private tables,
 * submission_full_results.csv, private_results.html, files/).
 */
export interface ResultsPublisher {
  publishResults(job: Job, resultsDir: string, names: ResultNames): Promise<void>;
  /**
   * The private report (the task's marimo report, or the built-in one in its place), published as results/
   * private_results.html once it is rendered, after the rest of the results folder (which holds no report).
   */
  publishReport(job: Job, reportPath: string): Promise<void>;
  /**
   * Called whatever the outcome, so a failed job's log reaches the maintainers too. `attempt` names the log of an
   * earlier attempt, uploaded by the worker that cleans up after the one that died running it.
   */
  publishLogs(job: Job, logsDir: string, attempt?: string): Promise<void>;
}

/** The task-dependent names of the results folder. */
export interface ResultNames {
  readonly publicResultsTable: string;
  readonly privateResultsTable: string;
}

/** Fixed names of the contract's results folder. */
export const RESULT_FILES = {
  fullResults: 'submission_full_results.csv',
  report: 'private_results.html',
  /**
   * The built-in report, written whatever the task's template does: self-contained, readable offline. Local output
   * only: the Hub gets one report, private_results.html.
   */
  builtInReport: 'report.html',
  executionTimes: 'execution_time.csv',
  functionInfo: 'submission_function_info.json',
  filesDir: 'files',
} as const;
