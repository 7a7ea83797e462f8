import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * What the soak's jobs left behind: containers and networks on the engine (told from other work by their
 * `pvhub.submission` label, in the soak's own id range), and folders in the workers' work folder.
 */

const run = promisify(execFile);

export interface Labelled {
  readonly id: string;
  readonly submissionId: number;
  readonly state: string;
}

async function lines(args: readonly string[]): Promise<string[]> {
  const { stdout } = await run('docker', [...args]);
  return stdout.split('\n').filter((line) => line.trim() !== '');
}

/** Containers, running or not, whose pvhub.submission label is one of `ids`. */
export async function containersOf(ids: ReadonlySet<number>): Promise<Labelled[]> {
  const rows = await lines([
    'ps',
    '-a',
    '--filter',
    'label=pvhub.submission',
    '--format',
    '{{.ID}} {{.Label "pvhub.submission"}} {{.State}}',
  ]);
  return rows
    .map((row) => row.split(' '))
    .map(([id = '', submission = '', state = '']) => ({ id, submissionId: Number(submission), state }))
    .filter((container) => ids.has(container.submissionId));
}

/** Networks whose pvhub.submission label is one of `ids` (the worker makes none today; a change might). */
export async function networksOf(ids: ReadonlySet<number>): Promise<Labelled[]> {
  const names = await lines(['network', 'ls', '-q', '--filter', 'label=pvhub.submission']);
  if (names.length === 0) return [];
  const rows = await lines([
    'network',
    'inspect',
    '--format',
    '{{.Id}} {{index .Labels "pvhub.submission"}}',
    ...names,
  ]);
  return rows
    .map((row) => row.split(' '))
    .map(([id = '', submission = '']) => ({ id, submissionId: Number(submission), state: 'network' }))
    .filter((network) => ids.has(network.submissionId));
}

/** Removes them (the soak's own, counted first), so a run leaves the shared engine as it found it. */
export async function removeLeftovers(containers: readonly Labelled[], networks: readonly Labelled[]): Promise<void> {
  if (containers.length > 0) await run('docker', ['rm', '-f', ...containers.map((c) => c.id)]).catch(() => undefined);
  if (networks.length > 0) await run('docker', ['network', 'rm', ...networks.map((n) => n.id)]).catch(() => undefined);
}

/** Ids `from`..`to` as a set. */
export function idRange(from: number, to: number): Set<number> {
  return new Set(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

/**
 * What is left in the work folder, two levels deep (a change may group a worker's folders): every entry, and of
 * those the ones named after one of `ids` (as a whole number in the name), told apart as job logs (`logs…`) and
 * workspaces (the rest: `submission-<id>-…` today).
 */
export async function workFolderLeftovers(
  workDir: string,
  ids: ReadonlySet<number>,
): Promise<{ entries: string[]; workspaces: string[]; jobLogs: string[] }> {
  const entries: string[] = [];
  const ownId = (name: string) => [...name.matchAll(/\d+/g)].some((match) => ids.has(Number(match[0])));
  const walk = async (dir: string, prefix: string, depth: number) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      entries.push(`${prefix}${entry.name}`);
      if (depth > 1 && entry.isDirectory() && !ownId(entry.name))
        await walk(path.join(dir, entry.name), `${prefix}${entry.name}/`, depth - 1);
    }
  };
  await walk(workDir, '', 2);
  const named = entries.filter((name) => ownId(path.basename(name)));
  const isLog = (name: string) => /^logs?[-_]/.test(path.basename(name));
  return { entries, workspaces: named.filter((name) => !isLog(name)), jobLogs: named.filter(isLog) };
}
