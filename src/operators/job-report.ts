import type { ResultsTable } from '../domain/aggregate.js';
import { faultBehind } from '../domain/infrastructure-fault.js';
import type { JobEvent } from '../domain/job-event.js';
import type { ResourceLimits } from '../domain/limits.js';
import type { BuiltWorkspace } from '../domain/workspace.js';
import type { ContainerEngine } from '../ports/container-engine.js';
import { retrying, type RetryPolicy } from '../domain/retry.js';
import type { ImageBuilder } from '../ports/image-builder.js';
import { type MarimoRender, type PreparedMarimoReport, prepareMarimoReport } from '../sinks/marimo-report.js';
import { FILE_TRIES } from './retry-infrastructure-faults.js';

/** A template gets this long to render the report, from the moment its rows are given. */
export const REPORT_TIME_LIMIT_MS = 5 * 60_000;
/** A report container lost to a fault of ours (removed from outside, the engine gone) is made again, as a file's. */
const REPORT_TRIES: RetryPolicy = { attempts: FILE_TRIES, baseDelayMs: 500, maxDelayMs: 2_000 };

export interface JobReportDeps {
  readonly engine: ContainerEngine;
  readonly images: ImageBuilder;
  readonly limits: ResourceLimits;
  /** The job's labels: the job's scope removes the report container with its other containers. */
  readonly labels: Readonly<Record<string, string>>;
  /** Bytes free for containers right now (the files' own budget). */
  readonly freeMemory: () => number;
  /** The job's whole time: a report container prepared early never outlives it. */
  readonly jobTimeLimitMs: number;
}

/**
 * The job's marimo report, whose container starts as soon as a container slot is free for it, so that by the time
 * the files are scored only the template's own cells are left to run. Its container counts against the memory
 * budget like a file's (the job's container limit), and never takes a slot the files would use:
 * - at the image, when memory holds one container more than the files may run at once, it is prepared beside them,
 *   and the files see that much less memory while it holds it;
 * - else once fewer files are left than run at once: the slot freed then stays idle to the end of the files;
 * - else (one file at a time) when the results exist, as before.
 * One per job, at most one container; `close` removes it whatever happened.
 */
export class JobReport {
  private prepared: PreparedMarimoReport | undefined;
  private holding = false;
  private workspace: BuiltWorkspace | undefined;
  private readonly stop = new AbortController();

  constructor(private readonly deps: JobReportDeps) {}

  /** What the files may use: the memory free, less the report container's limit while it holds one. */
  readonly freeMemory = (): number =>
    Math.max(0, this.deps.freeMemory() - (this.holding ? this.deps.limits.containerMemoryBytes : 0));

  /** Follows the job's events, and prepares the report once a slot is free for it. */
  readonly watch = (event: JobEvent): void => {
    const { limits } = this.deps;
    if (event.type === 'image') {
      this.workspace = event.workspace;
      if (this.deps.freeMemory() >= (limits.maxParallel + 1) * limits.containerMemoryBytes) this.prepare();
    } else if (event.type === 'file' && event.progress.total - event.progress.done < event.parallel) this.prepare();
  };

  /** Renders the task's template into `outPath` with the job's results; the signal stops it (a cancelled job). */
  async render(
    workspace: BuiltWorkspace,
    table: ResultsTable,
    outPath: string,
    signal: AbortSignal,
  ): Promise<MarimoRender> {
    this.workspace ??= workspace;
    const onAbort = () => this.stop.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await retrying(
        async () => {
          const prepared = this.prepare();
          if (prepared === undefined) throw new Error('the report was closed');
          return prepared.render(table, outPath).catch((error: unknown) => {
            // Its container is gone: the next try prepares a fresh one.
            if (faultBehind(error) !== undefined) this.prepared = undefined;
            throw error;
          });
        },
        (error) => faultBehind(error) !== undefined && !this.stop.signal.aborted,
        REPORT_TRIES,
      );
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.holding = false;
    }
  }

  /** Stops and removes the report container, if one was started (the job has ended). */
  close(): void {
    this.stop.abort(new Error('the job ended'));
    this.holding = false;
  }

  private prepare(): PreparedMarimoReport | undefined {
    const template = this.workspace?.templatePath;
    if (this.prepared !== undefined || this.workspace === undefined || template === undefined) return this.prepared;
    if (this.stop.signal.aborted) return undefined;
    const { engine, images, limits, labels, jobTimeLimitMs } = this.deps;
    const { log, dir } = this.workspace;
    log.debug('report container started');
    this.holding = true;
    this.prepared = prepareMarimoReport(template, {
      engine,
      images,
      limits,
      labels,
      log,
      workDir: dir,
      timeLimitMs: REPORT_TIME_LIMIT_MS,
      maxWaitMs: jobTimeLimitMs,
      signal: this.stop.signal,
    });
    return this.prepared;
  }
}
