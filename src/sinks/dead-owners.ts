import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { probeOwner } from '../adapters/owner-mark.js';
import { attemptName } from '../domain/job-record.js';
import {
  abandonedUnowned,
  MANAGED_LABELS,
  OWNER_LABEL,
  type OwnedFolder,
  ownedFolder,
  otherOwners,
  ownerSocket,
  SOCKET_SUFFIX,
  WORKERS_FOLDER,
} from '../domain/ownership.js';
import type { ContainerEngine, ContainerSweep } from '../ports/container-engine.js';
import type { ResultsPublisher } from '../ports/results-publisher.js';
import { readJobRecord } from './job-record.js';

export interface DeadOwnerPorts {
  readonly engine: ContainerSweep & Pick<ContainerEngine, 'removeNetworks'>;
  /** Where a dead worker's job logs go (the bucket). */
  readonly publisher: ResultsPublisher;
}

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
  readonly networks: number;
  readonly workspaces: number;
  /** Job logs of dead workers uploaded as their attempts' logs. */
  readonly logs: number;
}

async function namesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}

/** The workspaces and job logs of the work folder that name their owner, and the owners of its sockets. */
async function ownedEntries(workDir: string): Promise<{ folders: OwnedFolder[]; socketOwners: string[] }> {
  const folders = (await namesIn(workDir))
    .map(ownedFolder)
    .filter((folder): folder is OwnedFolder => folder !== undefined);
  const sockets = (await namesIn(path.join(workDir, WORKERS_FOLDER))).filter((name) => name.endsWith(SOCKET_SUFFIX));
  return { folders, socketOwners: sockets.map((name) => name.slice(0, -SOCKET_SUFFIX.length)) };
}

/**
 * A dead owner's job log goes to its submission's logs as that attempt's (never over the log of the attempt that
 * settles the job), then the folder goes; a log whose upload failed stays for the next worker's try. True when
 * the log was uploaded.
 */
async function settleLog(publisher: ResultsPublisher, dir: string, log: Logger): Promise<boolean> {
  const record = await readJobRecord(dir);
  if (record !== undefined) {
    const attempt = attemptName(record);
    try {
      await publisher.publishLogs(record.job, dir, attempt);
    } catch (error) {
      log.error(
        { err: error, folder: dir },
        'the job log of a worker that died could not be uploaded; the next worker tries again',
      );
      return false;
    }
    log.warn(
      { submissionId: record.job.submissionId, worker: record.worker, attempt },
      'uploaded the job log of a worker that died',
    );
  }
  await rm(dir, { recursive: true, force: true });
  return record !== undefined;
}

/**
 * Cleans up what workers that are provably dead left on the engine and in the work folder: their containers, and
 * those of older versions (no owner label) that no live worker can still be running; their networks; their workspaces; their job
 * logs, uploaded first; their sockets. A live owner's, or one whose liveness cannot be told, are left alone,
 * however old.
 */
export async function cleanUpAfterDeadOwners(ports: DeadOwnerPorts, options: DeadOwnerOptions): Promise<CleanedUp> {
  const { engine, publisher } = ports;
  const { workDir, log } = options;
  const containers = await engine.listContainers(MANAGED_LABELS);
  const { folders, socketOwners } = await ownedEntries(workDir);
  const owners = otherOwners(containers, folders, socketOwners, options.self, workDir);
  const judged = await Promise.all(
    [...owners].map(async ([owner, socket]) => ({ owner, liveness: await probeOwner(socket) })),
  );
  const deadOwners = judged.filter(({ liveness }) => liveness === 'dead').map(({ owner }) => owner);
  const unknown = judged.filter(({ liveness }) => liveness === 'unknown').map(({ owner }) => owner);
  if (unknown.length > 0)
    log.warn({ owners: unknown }, 'workers whose liveness cannot be told: what they own is left alone');

  // Containers first: they mount the workspaces.
  let removed = 0;
  for (const owner of deadOwners) removed += await engine.removeContainers({ ...MANAGED_LABELS, [OWNER_LABEL]: owner });
  for (const id of abandonedUnowned(containers, Date.now(), options.unownedLifetimeMs)) {
    await engine.removeContainer(id);
    removed += 1;
  }
  if (removed > 0 || deadOwners.length > 0)
    log.warn({ deadOwners, removed }, 'removed containers left by workers that died');
  // Then their jobs' networks, which their proxies used: each holds one of the engine's few address pools.
  let networks = 0;
  for (const owner of deadOwners) networks += await engine.removeNetworks({ ...MANAGED_LABELS, [OWNER_LABEL]: owner });
  if (networks > 0) log.warn({ networks }, 'removed networks left by workers that died');

  const dead = new Set(deadOwners);
  let workspaces = 0;
  let logs = 0;
  for (const folder of folders.filter(({ owner }) => dead.has(owner))) {
    const dir = path.join(workDir, folder.name);
    if (folder.kind === 'log') {
      if (await settleLog(publisher, dir, log)) logs += 1;
      continue;
    }
    await rm(dir, { recursive: true, force: true });
    workspaces += 1;
  }
  // Last: a clean-up cut short still finds these owners by their folders.
  for (const owner of deadOwners) await rm(ownerSocket(workDir, owner), { force: true });
  if (workspaces > 0) log.warn({ workspaces }, 'removed workspaces left by workers that died');
  return { deadOwners, containers: removed, networks, workspaces, logs };
}
