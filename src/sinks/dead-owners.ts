import type { Logger } from 'pino';
import { probeOwner } from '../adapters/owner-mark.js';
import { abandonedUnowned, MANAGED_LABELS, OWNER_LABEL, otherOwners } from '../domain/ownership.js';
import type { ContainerSweep } from '../ports/container-engine.js';

export interface DeadOwnerOptions {
  readonly workDir: string;
  /** This worker: never judged, never cleaned. */
  readonly self: string;
  /** How long a live worker of an older version lets a container of its own live (see unownedLifetimeMs). */
  readonly unownedLifetimeMs: number;
  readonly log: Logger;
}

export interface CleanedUp {
  readonly deadOwners: readonly string[];
  readonly containers: number;
}

/**
 * Removes what workers that are provably dead left on the engine: their containers, and those of older versions
 * (no owner label) that no live worker can still be running. A live owner's, or one whose liveness cannot be told,
 * are left alone, however old.
 */
export async function cleanUpAfterDeadOwners(engine: ContainerSweep, options: DeadOwnerOptions): Promise<CleanedUp> {
  const containers = await engine.listContainers(MANAGED_LABELS);
  const owners = otherOwners(containers, [], [], options.self, options.workDir);
  const judged = await Promise.all([...owners].map(async ([owner, socket]) => ({ owner, liveness: await probeOwner(socket) })));
  const deadOwners = judged.filter(({ liveness }) => liveness === 'dead').map(({ owner }) => owner);
  let removed = 0;
  for (const owner of deadOwners) removed += await engine.removeContainers({ ...MANAGED_LABELS, [OWNER_LABEL]: owner });
  for (const id of abandonedUnowned(containers, Date.now(), options.unownedLifetimeMs)) {
    await engine.removeContainer(id);
    removed += 1;
  }
  const unknown = judged.filter(({ liveness }) => liveness === 'unknown').map(({ owner }) => owner);
  if (unknown.length > 0) options.log.warn({ owners: unknown }, 'workers whose liveness cannot be told: their containers are left alone');
  if (removed > 0 || deadOwners.length > 0) options.log.warn({ deadOwners, removed }, 'removed containers left by workers that died');
  return { deadOwners, containers: removed };
}
