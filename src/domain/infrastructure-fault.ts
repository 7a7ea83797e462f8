import { WorkerError } from './errors.js';

/**
 * What went wrong under a job that is neither the submission's doing nor the task's: its container was removed from
 * outside, the engine restarted or stopped answering, the host (not the container's own limit) ran out of memory.
 */
export type FaultKind = 'container-vanished' | 'engine-unavailable' | 'host-out-of-memory';

/**
 * A fault of the worker's own infrastructure: ours (wr_500), and worth another try, in a fresh container or by
 * another worker. Never a failure of the submission's file.
 */
export class InfrastructureFault extends WorkerError {
  constructor(
    readonly kind: FaultKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('wr_500', message, { ...options, retryable: true });
  }
}

/** The InfrastructureFault that caused this error, when one did (a step may wrap the engine's error in its own). */
export function faultBehind(error: unknown): InfrastructureFault | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    if (current instanceof InfrastructureFault) return current;
  }
  return undefined;
}

/** SIGKILL's exit status (128 + 9): what a process killed by an OOM killer, the host's or its cgroup's, ends with. */
const KILLED = 137;

/**
 * Whether a container that was killed for memory was killed by the host, not by its own limit. On cgroup v2 the
 * engine reports OOMKilled for a kill by either; on v1 a kill by the host's OOM killer is a bare exit 137. Right
 * after the kill the victim's memory is free again. A container is started only when its limit is free, so one
 * that reached its own limit leaves at least its limit available as it dies; with less available even then,
 * something outside the worker's count took the memory it was promised: the host ran out. Pure.
 */
export function hostRanOutOfMemory(
  run: { readonly exitCode: number | null; readonly timedOut: boolean; readonly oomKilled: boolean },
  availableBytes: number,
  limitBytes: number,
): boolean {
  if (run.timedOut || !(run.oomKilled || run.exitCode === KILLED)) return false;
  return availableBytes < limitBytes;
}
