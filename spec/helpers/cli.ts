import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HOST_PYTHON = path.join(ROOT, '.cache/venv/bin/python');

export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end, collecting its output; `input` is its stdin, or writes it (and ends it) itself. */
export function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  input?: string | ((stdin: NodeJS.WritableStream) => void),
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    if (typeof input === 'function') input(child.stdin);
    else child.stdin.end(input ?? '');
  });
}

/** The worker's own command line, as a person types it. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  return run('node', [path.join(ROOT, 'bin/pvhub-worker.js'), ...args], env);
}

/** Runs Python code in the host environment (pandas, numpy), for computations independent of the worker. */
export async function python(code: string, args: readonly string[] = []): Promise<string> {
  const result = await run(HOST_PYTHON, ['-c', code, ...args]);
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return result.stdout;
}
