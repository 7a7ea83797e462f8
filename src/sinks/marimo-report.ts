import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { type Cell, pythonFloat, type ResultsTable } from '../domain/aggregate.js';

export interface MarimoOptions {
  /** The host Python that has marimo (hostPython()). */
  readonly python: string;
  readonly timeLimitMs: number;
  readonly log: Logger;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The host environment's Python (scripts/setup.sh creates it with marimo); PVHUB_HOST_PYTHON overrides it. */
export function hostPython(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env['PVHUB_HOST_PYTHON']?.trim();
  return configured ? configured : path.join(ROOT, '.cache/venv/bin/python');
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
    const fields = table.columns.map((column, index) => `${JSON.stringify(column)}: ${jsonValue(row[index] ?? null, table.floatColumns.has(column))}`);
    if (aliasRuntime) fields.push(`"run_time": ${jsonValue(row[runtimeIndex] ?? null, true)}`);
    return `--results_df={${fields.join(', ')}}`;
  });
}

/** Why the arguments cannot be passed on a command line, or undefined when they can. */
export function argumentProblem(args: readonly string[]): string | undefined {
  let total = 0;
  for (const arg of args) {
    const bytes = Buffer.byteLength(arg) + 1;
    if (bytes > MAX_ARGUMENT_BYTES) return `one results row is ${bytes} bytes, over the ${MAX_ARGUMENT_BYTES}-byte limit of one command-line argument`;
    total += bytes + 8;
  }
  return total > MAX_TOTAL_ARGUMENT_BYTES
    ? `the ${args.length} results rows take ${total} bytes, over the ${MAX_TOTAL_ARGUMENT_BYTES}-byte budget for the template's command line`
    : undefined;
}

function run(command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; timeLimitMs: number }): Promise<{ status: number | null; timedOut: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout kills marimo's kernel subprocess too.
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8192);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone between the timer firing and the kill.
      }
    }, options.timeLimitMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, timedOut, output });
    });
  });
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let isolation: Promise<boolean> | undefined;

/**
 * Whether the template can run with no network: root, and a new network namespace whose loopback can be brought
 * up (marimo's kernel talks to its parent over 127.0.0.1). Probed once per process.
 */
function networkIsolation(): Promise<boolean> {
  isolation ??= process.getuid?.() !== 0
    ? Promise.resolve(false)
    : run('unshare', ['--net', 'ip', 'link', 'set', 'lo', 'up'], { env: { PATH: SYSTEM_PATH }, cwd: os.tmpdir(), timeLimitMs: 10_000 }).then(
        (result) => result.status === 0,
        () => false,
      );
  return isolation;
}

/** The last lines of marimo's output that say something, on one line. */
function reason(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^(Traceback|File "|\^+$)/.test(line));
  return lines.slice(-2).join(' | ').slice(-300) || 'no output';
}

/**
 * Renders the task's marimo template into an HTML report as the Hub does (`marimo export html <template> -o <out>
 * --no-include-code -- --results_df=<row> …`), but as untrusted code: a clean environment with no credentials, a
 * scratch HOME and working directory, no network when the host allows it, and a time limit. The report appears at
 * `outPath` only when marimo succeeded. Rejects with a one-line reason otherwise.
 */
export async function renderMarimoReport(templatePath: string, table: ResultsTable, outPath: string, options: MarimoOptions): Promise<void> {
  const args = marimoArguments(table);
  const tooLong = argumentProblem(args);
  if (tooLong !== undefined) throw new Error(tooLong);
  try {
    await access(options.python, constants.X_OK);
  } catch {
    throw new Error(`no host Python at ${options.python} (run scripts/setup.sh, or set PVHUB_HOST_PYTHON)`);
  }
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-report-'));
  try {
    const home = path.join(scratch, 'home');
    await mkdir(home);
    const rendered = path.join(scratch, 'report.html');
    const marimo = [options.python, '-m', 'marimo', 'export', 'html', path.resolve(templatePath), '-o', rendered, '--no-include-code', '--no-sandbox', '--', ...args];
    const isolated = await networkIsolation();
    if (!isolated) options.log.info('the report template runs with network access: network namespaces need root and unshare');
    const [command, ...commandArgs] = isolated ? ['unshare', '--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...marimo] : marimo;
    const env = {
      PATH: SYSTEM_PATH,
      HOME: home,
      TMPDIR: scratch,
      LANG: 'C.UTF-8',
      MPLBACKEND: 'Agg',
      PYTHONNOUSERSITE: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    };
    const started = Date.now();
    const result = await run(command as string, commandArgs, { env, cwd: scratch, timeLimitMs: options.timeLimitMs });
    if (result.timedOut) throw new Error(`marimo did not finish within ${Math.round(options.timeLimitMs / 1000)} s`);
    if (result.status !== 0) throw new Error(`marimo exited with status ${result.status}: ${reason(result.output)}`);
    const size = await stat(rendered).then((info) => info.size, () => 0);
    if (size === 0) throw new Error('marimo wrote no report');
    await copyFile(rendered, outPath);
    options.log.info({ durationMs: Date.now() - started, isolated, rows: args.length }, 'report rendered from the task template');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
