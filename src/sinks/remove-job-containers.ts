import type { Logger } from 'pino';
import type { ContainerEngine } from '../ports/container-engine.js';

const ROUNDS = 20;
const ROUND_MS = 250;

/**
 * After a stop: the job's stream is unsubscribed, which aborts its runs, but a container being created in that
 * moment still appears a little later, so removal by label is repeated until two rounds in a row find none.
 * Resolves how many were removed.
 */
export async function removeJobContainers(
  engine: ContainerEngine,
  labels: Readonly<Record<string, string>>,
  log: Logger,
): Promise<number> {
  let total = 0;
  for (let round = 0, quiet = 0; round < ROUNDS && quiet < 2; round += 1) {
    const removed = await engine.removeContainers(labels).catch((error: unknown) => {
      log.error({ err: error }, 'could not remove the job containers');
      return 0;
    });
    total += removed;
    quiet = removed === 0 ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, ROUND_MS));
  }
  return total;
}
