import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { ResourceLimits } from '../domain/limits.js';
import type { ResultsTable } from '../domain/aggregate.js';
import { type Cell, pythonFloat } from '../domain/results-csv.js';
import { plainText } from '../domain/plain-text.js';
import { sandboxLimits } from '../domain/sandbox.js';
import type { ContainerEngine, ContainerOutcome } from '../ports/container-engine.js';
import type { ImageBuilder } from '../ports/image-builder.js';

export interface MarimoOptions {
  readonly engine: ContainerEngine;
  /** The job's container limits (memory, CPU, pids, output, written bytes). */
  readonly limits: ResourceLimits;
  /** The job's labels, so a cancelled job's report container is removed with its other containers. */
  readonly labels: Readonly<Record<string, string>>;
  /** Where the report image comes from (built on first use). */
  readonly images: ImageBuilder;
  /**
   * A folder at the same path for this process and for the engine's host (the job's workspace, under
   * PVHUB_WORK_DIR): the template and the report pass through a temporary folder made inside it.
   */
  readonly workDir: string;
  /** The render's time, from the moment its rows are given. */
  readonly timeLimitMs: number;
  /** How long a container prepared before its rows may wait for them (default: none, the rows come at once). */
  readonly maxWaitMs?: number;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/**
 * Linux limits one argument to 128 KiB and all of them, with the environment, to a quarter of the stack limit
 * (2 MiB by default). The Hub's templates can only read rows from the command line, so a report whose rows do not
 * fit within these bounds is not rendered by the template at all (defect 17) and the built-in report is used.
 */
const MAX_ARGUMENT_BYTES = 128 * 1024 - 1;
const MAX_TOTAL_ARGUMENT_BYTES = 1024 * 1024;

function jsonValue(value: Cell, float: boolean): string {
  if (value === null) return 'NaN';
  if (typeof value === 'number') return float ? pythonFloat(value) : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  return `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
}

/** The names a runtime column goes by in the Hub's templates. */
const RUNTIME_NAMES = ['runtime', 'run_time'] as const;

/**
 * The template's input as the Hub passes it: one `--results_df=<JSON object>` per row of the private full results,
 * written as Python's json.dumps writes a record (NaN for missing values, which json.loads reads back).
 */
export function marimoArguments(table: ResultsTable): string[] {
  // The Hub's published templates read the runtime as `runtime` (time-shift) or `run_time` (az-tilt), whichever name
  // the task's private_results_columns lists: it is passed under both.
  const runtimeIndex = RUNTIME_NAMES.map((name) => table.columns.indexOf(name)).find((index) => index >= 0);
  const alias = RUNTIME_NAMES.find((name) => !table.columns.includes(name));
  return table.rows.map((row) => {
    const fields = table.columns.map(
      (column, index) => `${JSON.stringify(column)}: ${jsonValue(row[index] ?? null, table.floatColumns.has(column))}`,
    );
    if (runtimeIndex !== undefined && alias !== undefined)
      fields.push(`${JSON.stringify(alias)}: ${jsonValue(row[runtimeIndex] ?? null, true)}`);
    return `--results_df={${fields.join(', ')}}`;
  });
}

/** Why the arguments cannot be passed on a command line, or undefined when they can. */
export function argumentProblem(args: readonly string[]): string | undefined {
  let total = 0;
  for (const arg of args) {
    const bytes = Buffer.byteLength(arg) + 1;
    if (bytes > MAX_ARGUMENT_BYTES)
      return `one results row is ${bytes} bytes, over the ${MAX_ARGUMENT_BYTES}-byte limit of one command-line argument`;
    total += bytes + 8;
  }
  return total > MAX_TOTAL_ARGUMENT_BYTES
    ? `the ${args.length} results rows take ${total} bytes, over the ${MAX_TOTAL_ARGUMENT_BYTES}-byte budget for the template's command line`
    : undefined;
}

/** The last lines of marimo's output that say something, on one line: not its traceback frames nor its log lines. */
function reason(output: string): string {
  const lines = plainText(output)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^(Traceback|File "|\^+$|\[[DIWE] \d)/.test(line));
  return lines.slice(-2).join(' | ').slice(-300) || 'no output';
}

/** Output kept from marimo: enough for the reason a template failed. */
const OUTPUT_CAP_BYTES = 64 * 1024;

/**
 * What marimo (0.25, `_cli/export/commands.py`) says on exiting 1 after it wrote the whole report, some of whose
 * cells raised: each shows its error where its output would be. The Hub shows that report as it is.
 */
const CELLS_FAILED = 'Export was successful, but some cells failed to execute';

/** How the report came out: whole, or exported by marimo with some cells failed. */
export interface MarimoRender {
  readonly cellsFailed: boolean;
}

/** A report container started before its rows exist: it renders once they are given, at most once. */
export interface PreparedMarimoReport {
  render(table: ResultsTable, outPath: string): Promise<MarimoRender>;
}

/** The program the report container runs (marimo's export, with its imports done before the rows arrive). */
const RENDER_PROGRAM = readFile(fileURLToPath(new URL('../../container/report/render.py', import.meta.url)), 'utf8');

/** A container started at once and its folders: the template's, the rows', the report's. */
interface StartedRun {
  readonly inputDir: string;
  readonly reportDir: string;
  readonly outcome: Promise<ContainerOutcome>;
}

async function startRun(
  templatePath: string,
  scratch: string,
  options: MarimoOptions,
  signal: AbortSignal,
): Promise<StartedRun> {
  const image = await options.images.reportImage(options.log, signal).catch((error: unknown) => {
    throw new Error(`the report image cannot be built: ${(error as Error).message}`, { cause: error });
  });
  // The container's uid owns nothing on the host: it reads the template and the rows whatever the umask.
  const [templateDir, inputDir, reportDir] = ['template', 'input', 'report'].map((name) => path.join(scratch, name));
  for (const dir of [templateDir, inputDir, reportDir]) await mkdir(dir as string);
  await copyFile(templatePath, path.join(templateDir as string, 'template.py'));
  await chmod(path.join(templateDir as string, 'template.py'), 0o644);
  for (const dir of [templateDir, inputDir]) await chmod(dir as string, 0o755);
  const outcome = options.engine.runContainer(
    {
      image,
      command: ['python', '-c', await RENDER_PROGRAM],
      mounts: [
        { hostPath: templateDir as string, containerPath: '/template', readOnly: true },
        { hostPath: inputDir as string, containerPath: '/input', readOnly: true },
      ],
      // The report comes out of the engine's capped volume as plain bytes; nothing else the template wrote does.
      results: {
        containerPath: '/report',
        capBytes: options.limits.resultsCapBytes,
        collect: ['report.html'],
        hostDir: reportDir as string,
      },
      ...sandboxLimits(options.limits),
      // Its own limit is the render's, from the rows on (below); this one only bounds a container never given rows.
      timeoutMs: (options.maxWaitMs ?? 0) + options.timeLimitMs,
      outputCapBytes: OUTPUT_CAP_BYTES,
      labels: { ...options.labels, 'pvhub.report': 'marimo' },
    },
    signal,
  );
  return { inputDir: inputDir as string, reportDir: reportDir as string, outcome };
}

/** What the container's end says: the report it left, or a one-line reason. */
async function reportOf(outcome: ContainerOutcome, run: StartedRun, args: number, options: MarimoOptions) {
  if (outcome.timedOut) throw new Error(`marimo did not finish within ${Math.round(options.timeLimitMs / 1000)} s`);
  if (outcome.oomKilled)
    throw new Error(`marimo ran out of memory (limit ${options.limits.containerMemoryBytes} bytes)`);
  if (outcome.resultsExceeded) throw new Error(`the template wrote more than ${options.limits.resultsCapBytes} bytes`);
  const cellsFailed = outcome.exitCode === 1 && outcome.output.includes(CELLS_FAILED);
  if (outcome.exitCode !== 0 && !cellsFailed)
    throw new Error(`marimo exited with status ${outcome.exitCode}: ${reason(outcome.output)}`);
  // lstat: a link the template left in its folder would make the worker copy one of its own files.
  const rendered = path.join(run.reportDir, 'report.html');
  const written = await lstat(rendered).catch(() => undefined);
  if (written === undefined || !written.isFile() || written.size === 0) {
    throw new Error(cellsFailed ? `marimo wrote no report: ${reason(outcome.output)}` : 'marimo wrote no report');
  }
  if (cellsFailed)
    options.log.warn(
      { durationMs: outcome.durationMs, rows: args, output: reason(outcome.output) },
      "report rendered from the task template, some of whose cells failed: marimo's report shows their errors",
    );
  else options.log.info({ durationMs: outcome.durationMs, rows: args }, 'report rendered from the task template');
  return { rendered, cellsFailed };
}

/**
 * Starts the container the task's marimo template renders in, before its rows exist: the report image, the
 * container, Python, marimo and the plotting packages are ready by the time the job's files are scored. The render
 * is then the Hub's (`marimo export html <template> -o <out> --no-include-code -- --results_df=<row> …`), but as
 * untrusted code: in a container of the report image with no network, no capabilities, a read-only root, an
 * unprivileged user, nothing of the worker's environment, the job's resource limits and a time limit from the moment
 * the rows are given. The container sees the template (read-only), the rows once given (read-only) and an empty
 * folder for the report; marimo's kernel talks to it over the container's own loopback. Aborting the signal removes
 * the container, rendered or not.
 */
export function prepareMarimoReport(templatePath: string, options: MarimoOptions): PreparedMarimoReport {
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const scratch = mkdtemp(path.join(options.workDir, 'report-'));
  const started = scratch.then((dir) => startRun(templatePath, dir, options, signal));
  // Awaited by render; a job that ends before it never asks, and its abort is no error of anyone's.
  started.then((run) => run.outcome).catch(() => undefined);
  const done = async () => {
    stop.abort(new Error('the report is not needed'));
    await started.then((run) => run.outcome).catch(() => undefined);
    await rm(await scratch, { recursive: true, force: true });
  };
  return {
    async render(table, outPath) {
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      try {
        const args = marimoArguments(table);
        const tooLong = argumentProblem(args);
        if (tooLong !== undefined) throw new Error(tooLong);
        const run = await started;
        const rows = path.join(run.inputDir, 'args.json');
        await writeFile(`${rows}.partial`, JSON.stringify(args));
        await chmod(`${rows}.partial`, 0o644);
        await rename(`${rows}.partial`, rows);
        timer = setTimeout(() => {
          timedOut = true;
          stop.abort(new Error('time'));
        }, options.timeLimitMs);
        const outcome = await run.outcome.catch((error: unknown) => {
          if (timedOut) return { ...TIMED_OUT, output: '' };
          throw error;
        });
        const { rendered, cellsFailed } = await reportOf(outcome, run, args.length, options);
        await copyFile(rendered, outPath);
        return { cellsFailed };
      } finally {
        clearTimeout(timer);
        await done();
      }
    },
  };
}

const TIMED_OUT: ContainerOutcome = {
  exitCode: null,
  timedOut: true,
  oomKilled: false,
  output: '',
  outputTruncated: false,
  durationMs: 0,
};

/** Prepares the report and renders it at once: for a caller that has the rows already. */
export function renderMarimoReport(
  templatePath: string,
  table: ResultsTable,
  outPath: string,
  options: MarimoOptions,
): Promise<MarimoRender> {
  return prepareMarimoReport(templatePath, options).render(table, outPath);
}
