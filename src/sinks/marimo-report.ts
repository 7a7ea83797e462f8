import { chmod, copyFile, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ResourceLimits } from '../domain/limits.js';
import { type Cell, pythonFloat, type ResultsTable } from '../domain/aggregate.js';
import { sandboxLimits } from '../domain/sandbox.js';
import type { ContainerEngine } from '../ports/container-engine.js';
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
  readonly timeLimitMs: number;
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

/**
 * The template's input as the Hub passes it: one `--results_df=<JSON object>` per row of the private full results,
 * written as Python's json.dumps writes a record (NaN for missing values, which json.loads reads back).
 */
export function marimoArguments(table: ResultsTable): string[] {
  // The Hub's published templates read the runtime as `run_time` (an older column name), so it is passed under both.
  const runtimeIndex = table.columns.indexOf('runtime');
  const aliasRuntime = runtimeIndex >= 0 && !table.columns.includes('run_time');
  return table.rows.map((row) => {
    const fields = table.columns.map(
      (column, index) => `${JSON.stringify(column)}: ${jsonValue(row[index] ?? null, table.floatColumns.has(column))}`,
    );
    if (aliasRuntime) fields.push(`"run_time": ${jsonValue(row[runtimeIndex] ?? null, true)}`);
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
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^(Traceback|File "|\^+$|\[[DIWE] \d)/.test(line));
  return lines.slice(-2).join(' | ').slice(-300) || 'no output';
}

/** Output kept from marimo: enough for the reason a template failed. */
const OUTPUT_CAP_BYTES = 64 * 1024;

/**
 * Renders the task's marimo template into an HTML report as the Hub does (`marimo export html <template> -o <out>
 * --no-include-code -- --results_df=<row> …`), but as untrusted code: in a container of the report image with no
 * network, no capabilities, a read-only root, an unprivileged user, nothing of the worker's environment, the job's
 * resource limits and a time limit. The container sees the template (read-only) and an empty folder for the report;
 * marimo's kernel talks to it over the container's own loopback. The report appears at `outPath` only when marimo
 * succeeded. Rejects with a one-line reason otherwise, or with the abort error when the signal fired.
 */
export async function renderMarimoReport(
  templatePath: string,
  table: ResultsTable,
  outPath: string,
  options: MarimoOptions,
): Promise<void> {
  const args = marimoArguments(table);
  const tooLong = argumentProblem(args);
  if (tooLong !== undefined) throw new Error(tooLong);
  const image = await options.images.reportImage(options.log, options.signal).catch((error: unknown) => {
    throw new Error(`the report image cannot be built: ${(error as Error).message}`, { cause: error });
  });
  const scratch = await mkdtemp(path.join(options.workDir, 'report-'));
  try {
    // The container's uid owns nothing on the host: it reads the template and writes the report whatever the umask.
    const templateDir = path.join(scratch, 'template');
    const reportDir = path.join(scratch, 'report');
    await mkdir(templateDir);
    await mkdir(reportDir);
    await copyFile(templatePath, path.join(templateDir, 'template.py'));
    await chmod(path.join(templateDir, 'template.py'), 0o644);
    await chmod(templateDir, 0o755);
    await chmod(reportDir, 0o777);
    const outcome = await options.engine.runContainer(
      {
        image,
        command: [
          'python',
          '-m',
          'marimo',
          'export',
          'html',
          '/template/template.py',
          '-o',
          '/report/report.html',
          '--no-include-code',
          '--no-sandbox',
          '--',
          ...args,
        ],
        mounts: [
          { hostPath: templateDir, containerPath: '/template', readOnly: true },
          { hostPath: reportDir, containerPath: '/report', readOnly: false },
        ],
        ...sandboxLimits(options.limits),
        timeoutMs: options.timeLimitMs,
        outputCapBytes: OUTPUT_CAP_BYTES,
        labels: { ...options.labels, 'pvhub.report': 'marimo' },
      },
      options.signal,
    );
    if (outcome.timedOut) throw new Error(`marimo did not finish within ${Math.round(options.timeLimitMs / 1000)} s`);
    if (outcome.oomKilled)
      throw new Error(`marimo ran out of memory (limit ${options.limits.containerMemoryBytes} bytes)`);
    if (outcome.resultsExceeded)
      throw new Error(`the template wrote more than ${options.limits.resultsCapBytes} bytes`);
    if (outcome.exitCode !== 0)
      throw new Error(`marimo exited with status ${outcome.exitCode}: ${reason(outcome.output)}`);
    // lstat: a link the template left in its folder would make the worker copy one of its own files.
    const rendered = path.join(reportDir, 'report.html');
    const written = await lstat(rendered).catch(() => undefined);
    if (written === undefined || !written.isFile() || written.size === 0) throw new Error('marimo wrote no report');
    await copyFile(rendered, outPath);
    options.log.info({ durationMs: outcome.durationMs, rows: args.length }, 'report rendered from the task template');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
