import type Dockerode from 'dockerode';

/** The HTTP status of an engine's refusal, when it is one. */
export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/**
 * Force-removal that tolerates the container being gone already, or on its way out. True when this call removed
 * it; false when someone else had (404) or was removing it (409).
 */
export async function forceRemove(container: Dockerode.Container): Promise<boolean> {
  try {
    await container.remove({ force: true, v: true });
    return true;
  } catch (error) {
    if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
    return false;
  }
}

export function labelFilter(labels: Readonly<Record<string, string>>): string[] {
  const filter = Object.entries(labels).map(([key, value]) => `${key}=${value}`);
  // No labels would match every container, image or network of the engine, the worker's or not.
  if (filter.length === 0) throw new Error('removal by label needs at least one label');
  return filter;
}

/** Removal of a volume no container uses any more; one that is gone already is fine. */
export async function removeVolume(docker: Dockerode, name: string): Promise<void> {
  try {
    await docker.getVolume(name).remove();
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
}

const VOLUME_FREE_POLL_MS = 200;

/**
 * Removal of a volume once no container uses it. A container removed by someone else (the engine answers 409 to our
 * own removal then) holds its volumes until that removal is done: a volume in use is tried again for up to `waitMs`,
 * and past that left in place, for the removal by the job's labels at its end; the run whose holder it was has its
 * outcome already.
 */
export async function removeVolumeWhenFree(docker: Dockerode, name: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await removeVolume(docker, name);
      return;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, VOLUME_FREE_POLL_MS));
    }
  }
}

/** What a run or a build stopped by its signal rejects with: the signal's reason when it is an error. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : Object.assign(new Error('the run was cancelled'), { name: 'AbortError' });
}
