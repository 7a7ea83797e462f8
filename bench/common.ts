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
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export const round = (value: number, digits = 3) => Number(value.toFixed(digits));

function dockerVersion(): Promise<string | null> {
  return new Promise((resolve) => execFile('docker', ['version', '--format', '{{.Server.Version}}'], (error, stdout) => resolve(error ? null : stdout.trim())));
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

/** Writes these top-level keys of bench/results.json, keeping the others (each benchmark owns its own keys). */
export async function writeResults(entries: Record<string, unknown>): Promise<string> {
  const previous = JSON.parse(await readFile(RESULTS_FILE, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  await writeFile(RESULTS_FILE, `${JSON.stringify({ ...previous, ...entries }, null, 2)}\n`);
  return path.relative(ROOT, RESULTS_FILE);
}
