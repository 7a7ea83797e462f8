import type Dockerode from 'dockerode';

/** The HTTP status of an engine's refusal, when it is one. */
export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** Force-removal that tolerates the container being gone already, or on its way out. */
export async function forceRemove(container: Dockerode.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
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
