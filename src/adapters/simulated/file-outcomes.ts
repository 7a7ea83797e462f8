import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CollectedEntry, ContainerOutcome } from '../../ports/container-engine.js';

/** What the simulated submission does on one data file. */
export type FileBehaviour =
  | { readonly kind: 'correct'; readonly seconds?: number }
  | { readonly kind: 'raises'; readonly message: string }
  /** Runs until its time limit or until it is stopped. */
  | { readonly kind: 'hangs' }
  /** Returns, the wrapper reports success, and something other than a file is left where the output belongs. */
  | { readonly kind: 'leaves'; readonly output: Exclude<CollectedEntry, 'file'> }
  /** Its container is removed from outside while it runs (by a worker that took it for a dead one's). */
  | { readonly kind: 'vanishes' }
  /** The engine does not answer: the run never starts. */
  | { readonly kind: 'engine-down' }
  /** The engine stops answering: the run never ends, not even when it is stopped. */
  | { readonly kind: 'engine-hangs' }
  /** Killed for memory (the kernel's OOM killer, the container's cgroup or the host's). */
  | { readonly kind: 'out-of-memory' };

/** What a file's simulated run needs to end as its behaviour says. */
export interface FileRunEnd {
  readonly timeoutMs: number;
  readonly delayMs: number;
  /** Where the engine copies the results out to: status.json and output.csv, as the wrapper writes them. */
  readonly hostDir: string;
  /** The file's reference output, which a correct run returns. */
  readonly reference: string;
}

/** The outcome of a file's run, once its container's time is up, as `behaviour` says; writes what the wrapper would. */
export async function fileOutcome(behaviour: FileBehaviour, run: FileRunEnd): Promise<ContainerOutcome> {
  if (behaviour.kind === 'hangs')
    return {
      exitCode: null,
      timedOut: true,
      oomKilled: false,
      output: '',
      outputTruncated: false,
      durationMs: run.timeoutMs,
    };
  if (behaviour.kind === 'out-of-memory')
    return {
      exitCode: 137,
      timedOut: false,
      oomKilled: true,
      output: 'Killed\n',
      outputTruncated: false,
      durationMs: run.delayMs,
    };
  const status = (report: object) => writeFile(path.join(run.hostDir, 'status.json'), JSON.stringify(report));
  if (behaviour.kind === 'raises') {
    await status({ ok: false, code: 'sb_500', message: behaviour.message });
    const collected = { 'output.csv': 'missing', 'status.json': 'file' } as const;
    return {
      exitCode: 1,
      timedOut: false,
      oomKilled: false,
      output: `ValueError: ${behaviour.message}\n`,
      outputTruncated: false,
      durationMs: run.delayMs,
      collected,
    };
  }
  const seconds = behaviour.kind === 'correct' ? (behaviour.seconds ?? 0.5) : 0.5;
  await status({ ok: true, execution_time: seconds, function_parameters: ['time_series', 'latitude'] });
  // The engine's clock: a container runs at least as long as the call the wrapper timed inside it.
  const ran = {
    exitCode: 0,
    timedOut: false,
    oomKilled: false,
    output: '',
    outputTruncated: false,
    durationMs: Math.max(run.delayMs, seconds * 1000),
  };
  if (behaviour.kind === 'leaves')
    return { ...ran, collected: { 'output.csv': behaviour.output, 'status.json': 'file' } };
  await copyFile(run.reference, path.join(run.hostDir, 'output.csv'));
  return { ...ran, collected: { 'output.csv': 'file', 'status.json': 'file' } };
}
