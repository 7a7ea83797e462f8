import { spawn } from 'node:child_process';
import { positiveInt, ROOT } from './common.js';

/** What the sections of bench/run.ts share: a child process run to its end, progress lines, the repeats. */

/** Repeats of each scoring and container variant (BENCH_REPEATS). */
export const REPEATS = positiveInt(process.env['BENCH_REPEATS'], 3);

export interface Finished {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
