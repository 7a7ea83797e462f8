/**
 * Runs the spec files under spec/ whose path matches PATTERN in several uvu processes at once: `tsx
 * scripts/spec-lanes.ts [--lanes N] PATTERN`. Most of the fast lane's time is waiting (time-outs against stalling
 * servers, child processes, clocks), which lanes overlap. The files are dealt into a few batches, and each lane takes
 * the next batch as it ends one, so a slow file holds up only its own lane. Each batch's output is printed whole once
 * it ends; then one line of sums (in words of its own, so that sums of uvu's "Total:" lines still count each test
 * once). Exits 1 when a batch failed.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SPEC_DIR = path.join(ROOT, 'spec');
/**
 * Batches per lane: each batch pays a process's start and its own loading of the modules its specs import (several
 * seconds of CPU for a batch of the fast lane), and more of them even out the lanes' ends. On 2 cores, 3 lanes of 2
 * batches took the fast lane from 73 s (one process) to 36 to 48 s; 2 lanes 53 s; batches of 6 files, 42 s.
 */
const BATCHES_PER_LANE = 2;
/** Lanes by default: the fast lane waits on clocks and child processes for half its time. */
const DEFAULT_LANES = 3;

interface Batch {
  readonly files: readonly string[];
}

interface Ended {
  readonly output: string;
  readonly status: number | null;
}

function usage(message: string): never {
  console.error(`${message}\nusage: tsx scripts/spec-lanes.ts [--lanes N] PATTERN`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): { lanes: number; pattern: RegExp } {
  let lanes = DEFAULT_LANES;
  let pattern: RegExp | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    if (arg === '--lanes') {
      lanes = Number(argv[++index]);
      if (!Number.isInteger(lanes) || lanes < 1)
        usage(`--lanes takes a whole number of at least 1, not ${argv[index]}`);
    } else if (pattern === undefined) pattern = new RegExp(arg);
    else usage(`one pattern only: ${arg}`);
  }
  if (pattern === undefined) usage('no pattern given');
  return { lanes, pattern };
}

/** Spec files' paths relative to spec/, with forward slashes, as uvu matches them. */
function specFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? specFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)
      : entry.name.endsWith('.spec.ts')
        ? [`${prefix}${entry.name}`]
        : [],
  );
}

/** Neighbours of a folder often wait on the same things (a server's time-outs): dealt round, they share no batch. */
function batches(files: readonly string[], lanes: number): Batch[] {
  const count = Math.min(files.length, lanes * BATCHES_PER_LANE);
  const dealt = Array.from({ length: count }, (): string[] => []);
  [...files].sort().forEach((file, index) => dealt[index % count]?.push(file));
  return dealt.map((batch) => ({ files: batch }));
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function runBatch(batch: Batch): Promise<Ended> {
  const only = `^(${batch.files.map(escaped).join('|')})$`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'spec', only], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: process.env['FORCE_COLOR'] ?? (process.stdout.isTTY ? '1' : '0') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('close', (status) => resolve({ output: Buffer.concat(chunks).toString('utf8'), status }));
    child.on('error', (error) => resolve({ output: `${error.message}\n`, status: null }));
  });
}

/** uvu's count after `label`, its colours left out. */
function counted(output: string, label: string): number {
  const plain = stripVTControlCharacters(output);
  return [...plain.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

async function main(): Promise<number> {
  const { lanes, pattern } = parseArgs(process.argv.slice(2));
  const files = specFiles(SPEC_DIR).filter((file) => pattern.test(file));
  if (files.length === 0) usage(`no spec file under spec/ matches ${pattern}`);
  const queue = batches(files, lanes);
  const started = performance.now();
  const sums = { total: 0, passed: 0, skipped: 0 };
  let failedBatches = 0;
  const lane = async () => {
    for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
      const { output, status } = await runBatch(batch);
      process.stdout.write(output);
      sums.total += counted(output, 'Total');
      sums.passed += counted(output, 'Passed');
      sums.skipped += counted(output, 'Skipped');
      if (status !== 0) {
        failedBatches += 1;
        console.log(`\nthe batch of ${batch.files.join(', ')} exited with status ${status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const failed = sums.total - sums.passed;
  console.log(
    `\n${files.length} spec files in ${lanes} lanes, ${seconds} s: ` +
      `${sums.passed} passed, ${failed} failed, ${sums.skipped} skipped`,
  );
  return failedBatches === 0 && sums.total > 0 && failed === 0 ? 0 : 1;
}

process.exitCode = await main();
