import path from 'node:path';
import type { ResourceLimits } from './limits.js';

/**
 * Who made a container or a folder: the worker process that owns it. Several workers may share one Docker engine
 * and one work folder (ECS places several tasks on one instance); each removes only what it owns, and what owners
 * that are provably dead left behind. An owner is alive while it listens on its socket in the work folder
 * (adapters/owner-mark.ts): the kernel closes that socket however the process dies.
 */
export const OWNER_LABEL = 'pvhub.worker';
/** The owner's work folder, where its socket is: workers on one engine may each have their own. */
export const OWNER_DIR_LABEL = 'pvhub.worker-dir';
export const MANAGED_LABELS: Readonly<Record<string, string>> = { 'pvhub.managed': 'true' };

/** `<host>-<pid>-<6 hex>`: unique on the host, and it names the container (the ECS task) it came from. */
const WORKER_ID = /^[a-z0-9]{1,12}-\d{1,10}-[0-9a-f]{6}$/;
/** Longest Unix socket path (sun_path holds 108 bytes with its NUL): a longer one is silently cut by the kernel. */
const MAX_SOCKET_PATH_BYTES = 107;
const LONGEST_ID = 'x'.repeat(12) + '-' + '9'.repeat(10) + '-ffffff';

export const isWorkerId = (text: string): boolean => WORKER_ID.test(text);

/** A worker id from the host's name, the process id and random hex (`random` is a parameter to keep this pure). */
export function workerId(hostname: string, pid: number, random: string): string {
  const host =
    hostname
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 12) || 'worker';
  return `${host}-${pid}-${random.slice(0, 6)}`;
}

export const ownerLabels = (owner: string, workDir: string): Record<string, string> => ({
  [OWNER_LABEL]: owner,
  [OWNER_DIR_LABEL]: workDir,
});

export const WORKERS_FOLDER = 'workers';
export const SOCKET_SUFFIX = '.sock';

/** Where the owner's liveness socket is. */
export const ownerSocket = (workDir: string, owner: string): string =>
  path.join(workDir, WORKERS_FOLDER, `${owner}${SOCKET_SUFFIX}`);

/** Why the work folder cannot hold the workers' sockets, if it cannot. */
export function socketPathProblem(workDir: string): string | undefined {
  const bytes = Buffer.byteLength(ownerSocket(workDir, LONGEST_ID));
  return bytes > MAX_SOCKET_PATH_BYTES
    ? `PVHUB_WORK_DIR=${workDir} is too long: the workers' sockets in it would be ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES} a Unix socket path may have`
    : undefined;
}

/** The start of an owned workspace's name in the work folder (the rest is mkdtemp's six characters). */
export const ownedWorkspacePrefix = (submissionId: number, owner: string): string =>
  `submission-${submissionId}-${owner}-`;

/** The name a kept workspace takes: no owner, so no worker removes it (it is kept for a person). */
export const keptWorkspaceName = (name: string, owner: string): string => name.replace(`-${owner}-`, '-');

/** The folder of a job's log in the work folder; `startedAt` in ms. */
export const ownedLogFolder = (submissionId: number, owner: string, startedAt: number): string =>
  `logs-${submissionId}-${owner}-${startedAt}`;

const OWNED_FOLDER = /^(submission|logs)-\d+-(.+)-([A-Za-z0-9]{6}|\d+)$/;

/** A folder of the work folder that an owner made: a workspace or a job's log. */
export interface OwnedFolder {
  readonly name: string;
  readonly kind: 'workspace' | 'log';
  readonly owner: string;
}

/** The owner and kind of a work-folder entry, when a worker made it (older versions' folders have no owner). */
export function ownedFolder(name: string): OwnedFolder | undefined {
  const match = OWNED_FOLDER.exec(name);
  const owner = match?.[2];
  if (match === null || owner === undefined || !isWorkerId(owner)) return undefined;
  return { name, kind: match[1] === 'logs' ? 'log' : 'workspace', owner };
}

/** Whether an owner is alive: `unknown` (no answer in time, no access) is never taken for dead. */
export type Liveness = 'alive' | 'dead' | 'unknown';

export interface ManagedContainer {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Creation time, ms. */
  readonly createdAt: number;
}

/**
 * The other owners found on the engine and in the work folder, each with the socket that tells whether it lives:
 * in this work folder, or in the one its containers name (a worker on this engine with a folder of its own).
 */
export function otherOwners(
  containers: readonly ManagedContainer[],
  folders: readonly OwnedFolder[],
  socketOwners: readonly string[],
  self: string,
  workDir: string,
): Map<string, string> {
  const sockets = new Map<string, string>();
  for (const owner of [...folders.map((folder) => folder.owner), ...socketOwners])
    sockets.set(owner, ownerSocket(workDir, owner));
  for (const { labels } of containers) {
    const owner = labels[OWNER_LABEL];
    if (owner !== undefined && !sockets.has(owner))
      sockets.set(owner, ownerSocket(labels[OWNER_DIR_LABEL] ?? workDir, owner));
  }
  sockets.delete(self);
  for (const owner of sockets.keys()) if (!isWorkerId(owner)) sockets.delete(owner);
  return sockets;
}

/**
 * How long a container of an older version (no owner label) may live while its worker is alive: that worker stops
 * every container at its time limit (a file, a source build, the report) and removes it. Past it the container is
 * provably left by a dead worker. Removing one earlier would kill a live old worker's file during a rolling
 * deploy, the very fault owners are there to prevent.
 */
export function unownedLifetimeMs(
  limits: Pick<ResourceLimits, 'fileTimeLimitMs' | 'buildTimeLimitMs'>,
  reportTimeLimitMs: number,
): number {
  return Math.max(limits.fileTimeLimitMs, limits.buildTimeLimitMs, reportTimeLimitMs) + UNOWNED_MARGIN_MS;
}
/** Time an old worker takes between a container's limit and its removal (the kill, the wait, an engine that is slow). */
const UNOWNED_MARGIN_MS = 10 * 60_000;

/** The containers of an older version (no owner) that no live worker can still be running. */
export function abandonedUnowned(containers: readonly ManagedContainer[], now: number, lifetimeMs: number): string[] {
  return containers
    .filter((container) => container.labels[OWNER_LABEL] === undefined && now - container.createdAt > lifetimeMs)
    .map((container) => container.id);
}
