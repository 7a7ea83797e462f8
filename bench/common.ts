import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the benchmarks share: reading their settings, summarising repeats, and bench/results.json. */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(ROOT, 'bench', 'results.json');

export function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export const round = (value: number, digits = 3) => Number(value.toFixed(digits));
export const seconds = (ms: number) => round(ms / 1000);

/**
 * A B B A A B … (or A B C C B A …): the order is reversed every other repeat, so each variant's mean place is the same
 * and a steady drift of the machine favours none.
 */
export function alternating<T>(variants: readonly T[], repeats: number): T[] {
  const order: T[] = [];
  for (let i = 0; i < repeats; i += 1) order.push(...(i % 2 === 0 ? variants : [...variants].reverse()));
  return order;
}

function dockerVersion(): Promise<string | null> {
  return new Promise((resolve) =>
    execFile('docker', ['version', '--format', '{{.Server.Version}}'], (error, stdout) =>
      resolve(error ? null : stdout.trim()),
    ),
  );
}

/** The machine a figure was measured on. */
export async function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memGiB: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    docker: await dockerVersion(),
  };
}

/** bench/results.json as it is now. */
export async function readResults(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(RESULTS_FILE, 'utf8').catch(() => '{}')) as Record<string, unknown>;
}

/** The sections under `results`, which several benchmarks write one at a time. */
export async function resultSections(): Promise<Record<string, unknown>> {
  return ((await readResults())['results'] as Record<string, unknown> | undefined) ?? {};
}

/** Writes these top-level keys of bench/results.json, keeping the others (each benchmark owns its own keys). */
export async function writeResults(entries: Record<string, unknown>): Promise<string> {
  const previous = await readResults();
  await writeFile(RESULTS_FILE, `${JSON.stringify({ ...previous, ...entries }, null, 2)}\n`);
  return path.relative(ROOT, RESULTS_FILE);
}

/** One figure of the targets: the value, what it is compared with, and whether it meets its target. */
export interface BenchFigure {
  readonly value: number;
  readonly unit: string; // 's', 'MB', '×', '%'
  readonly target: string; // e.g. '≤ 0.7', '≥ 90'
  readonly met: boolean;
  readonly reference?: string; // what the value was measured against, in the same run
}
export interface BenchSection {
  readonly description: string;
  readonly command: string;
  readonly figures: Readonly<Record<string, BenchFigure>>;
  readonly values: unknown; // raw repeats and medians
}
