import { cp, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ResultNames, ResultsPublisher } from '../ports/results-publisher.js';

/**
 * Publishes a local run into an output folder, complete or not at all: everything goes into a hidden sibling
 * folder that is renamed onto the output only by commit(). The public results are results.json, the name an author
 * looks for; the rest keeps the contract's names (report.html the built-in report, private_results.html the Hub's).
 */
export class DirectoryPublisher implements ResultsPublisher {
  private readonly staging: string;

  constructor(private readonly outDir: string) {
    this.staging = path.join(path.dirname(outDir), `.${path.basename(outDir)}.partial-${process.pid}`);
  }

  async publishResults(_job: unknown, resultsDir: string, names: ResultNames): Promise<void> {
    await mkdir(this.staging, { recursive: true });
    await cp(resultsDir, this.staging, { recursive: true });
    const rename_ = async (from: string, to: string) =>
      rename(path.join(this.staging, from), path.join(this.staging, to)).catch(() => undefined);
    await rename_(names.publicResultsTable, 'results.json');
  }

  async publishLogs(_job: unknown, logsDir: string): Promise<void> {
    await mkdir(this.staging, { recursive: true });
    await cp(logsDir, path.join(this.staging, 'logs'), { recursive: true });
  }

  /** Replaces the output folder with what was published. */
  async commit(): Promise<void> {
    await rm(this.outDir, { recursive: true, force: true });
    await mkdir(path.dirname(this.outDir), { recursive: true });
    await rename(this.staging, this.outDir);
  }

  /** Drops whatever was published, leaving no half-written output. */
  async discard(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }
}
