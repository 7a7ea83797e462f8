import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { RESULT_FILES, type ResultNames, type ResultsPublisher } from '../ports/results-publisher.js';
import { serveMarimoPageBeside } from './offline-report.js';

/** Written into every output folder, so a later run knows the folder it replaces is one of its own. */
const OUTPUT_MARKER = '.pvhub-worker-output';

/**
 * Why `outDir` must not be replaced by a run's output, if it must not: it holds something else than an earlier
 * output (`--out .` or `--out ~` would otherwise be deleted whole).
 */
export async function outputFolderProblem(outDir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(outDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') return `--out ${outDir} is a file, not a folder`;
    throw error;
  }
  if (names.length === 0 || names.includes(OUTPUT_MARKER)) return undefined;
  return `--out ${outDir} already holds other files; it would be replaced whole: name a new folder, or an earlier output of this command`;
}

export interface DirectoryPublisherOptions {
  /** The host python whose marimo provides the page a marimo report runs (config PVHUB_HOST_PYTHON). */
  readonly hostPython: string;
  readonly log: Logger;
}

/**
 * Publishes a local run into an output folder, complete or not at all: everything goes into a hidden sibling
 * folder that is renamed onto the output only by commit(). The public results are results.json, the name an author
 * looks for; the rest keeps the contract's names (report.html the built-in report, private_results.html the Hub's).
 * Unlike the Hub's copy, a marimo private_results.html runs marimo's page from private_results_assets/ beside it,
 * so that it shows with no network.
 */
export class DirectoryPublisher implements ResultsPublisher {
  private readonly staging: string;

  constructor(
    private readonly outDir: string,
    private readonly options: DirectoryPublisherOptions,
  ) {
    this.staging = path.join(path.dirname(outDir), `.${path.basename(outDir)}.partial-${process.pid}`);
  }

  async publishResults(_job: unknown, resultsDir: string, names: ResultNames): Promise<void> {
    await mkdir(this.staging, { recursive: true });
    await cp(resultsDir, this.staging, { recursive: true });
    const rename_ = async (from: string, to: string) =>
      rename(path.join(this.staging, from), path.join(this.staging, to)).catch(() => undefined);
    await rename_(names.publicResultsTable, 'results.json');
  }

  async publishReport(_job: unknown, reportPath: string): Promise<void> {
    const report = path.join(this.staging, RESULT_FILES.report);
    await mkdir(this.staging, { recursive: true });
    await cp(reportPath, report);
    const needsNetwork = await serveMarimoPageBeside(report, this.options.hostPython);
    if (needsNetwork !== undefined)
      this.options.log.warn(`${RESULT_FILES.report} needs network to show: ${needsNetwork}`);
  }

  async publishLogs(_job: unknown, logsDir: string): Promise<void> {
    await mkdir(this.staging, { recursive: true });
    await cp(logsDir, path.join(this.staging, 'logs'), { recursive: true });
  }

  /** Replaces the output folder (empty, absent, or an earlier output: see outputFolderProblem) with what was published. */
  async commit(): Promise<void> {
    await writeFile(
      path.join(this.staging, OUTPUT_MARKER),
      'written by pvhub-worker evaluate; the next run into this folder replaces it whole\n',
    );
    await rm(this.outDir, { recursive: true, force: true });
    await mkdir(path.dirname(this.outDir), { recursive: true });
    await rename(this.staging, this.outDir);
  }

  /** Drops whatever was published, leaving no half-written output. */
  async discard(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }
}
