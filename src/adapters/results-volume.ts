import { open } from 'node:fs/promises';
import path from 'node:path';
import type Dockerode from 'dockerode';
import tar from 'tar-stream';
import type { CollectedEntry, ResultsVolume } from '../ports/container-engine.js';
import { removeVolume, statusOf } from './docker-common.js';
import type { HeldVolume } from './results-holder.js';

/** Files and folders a run may create in its results: the tmpfs has no more inodes than this (its root included). */
export const RESULTS_MAX_ENTRIES = 10_000;

const ENTRY_KINDS: Readonly<Record<string, CollectedEntry>> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'folder',
  symlink: 'symbolic link',
  link: 'hard link',
  fifo: 'FIFO',
  'character-device': 'device',
  'block-device': 'device',
};

/**
 * The engine otherwise fills an empty volume with what the image holds at its mount point, and gives its root that
 * folder's owner and mode: the image's files would be results, and a root-owned folder would shut the run out.
 */
export const NO_COPY = { NoCopy: true } as Dockerode.MountSettings['VolumeOptions'];

/** The tmpfs: limited by the kernel in bytes and inodes, nothing on it executable or special, owned by the run's uid. */
export function tmpfsOptions(results: ResultsVolume, user: string): Record<string, string> {
  const ids = /^(\d+):(\d+)$/.exec(user);
  if (ids === null) throw new Error(`a results volume needs a numeric uid:gid user, not ${user}`);
  const [, uid, gid] = ids;
  return {
    type: 'tmpfs',
    device: 'tmpfs',
    o: `size=${results.capBytes},nr_inodes=${RESULTS_MAX_ENTRIES},nosuid,nodev,noexec,uid=${uid},gid=${gid},mode=0700`,
  };
}

/** The run container's mount of the volume. */
export const volumeMount = (held: HeldVolume, results: ResultsVolume): Dockerode.MountSettings => ({
  Type: 'volume',
  Source: held.name,
  Target: results.containerPath,
  ReadOnly: false,
  VolumeOptions: NO_COPY,
});

/** A regular file's bytes, into a new file of the worker's. */
async function copyOut(entry: AsyncIterable<unknown>, file: string): Promise<void> {
  const sink = await open(file, 'wx', 0o644);
  try {
    // tar-stream's entries are streamx streams, which Node's pipeline does not wait for.
    for await (const chunk of entry) await sink.write(chunk as Buffer);
    // Whatever the worker's umask: readable by every later reader, executable by none.
    await sink.chmod(0o644);
  } finally {
    await sink.close();
  }
}

/** An archive entry's path below the archived folder (which the engine names first): '' for the folder itself. */
const nameInVolume = (entry: string) => entry.replace(/\/$/, '').split('/').slice(1).join('/');

/**
 * Copies the named regular files out of the volume; says what each name was (of anything but a regular file only
 * its kind is read). One archive of the whole volume, not one per name: the engine runs its own binary once more for
 * each archive, for about as much CPU as a container's start. It is read until every name was met; the rest of what
 * the run left is skipped unread, and is at most the cap.
 */
export async function collectResults(
  held: HeldVolume,
  results: ResultsVolume,
): Promise<Record<string, CollectedEntry>> {
  for (const name of results.collect)
    if (name !== path.basename(name) || name === '..' || name === '.')
      throw new Error(`a collected name is one at the volume's top level, not ${name}`);
  const collected: Record<string, CollectedEntry> = Object.fromEntries(
    results.collect.map((name) => [name, 'missing']),
  );
  const wanted = new Set(results.collect);
  const archive = await held.holder.archive(held);
  const extract = tar.extract();
  (archive as NodeJS.ReadableStream & { pipe: <T extends NodeJS.WritableStream>(to: T) => T }).pipe(
    extract as unknown as NodeJS.WritableStream,
  );
  try {
    for await (const entry of extract) {
      const name = nameInVolume(entry.header.name);
      if (!wanted.delete(name)) {
        entry.resume();
        continue;
      }
      const kind = ENTRY_KINDS[entry.header.type ?? 'file'] ?? 'device';
      if (kind === 'file') await copyOut(entry, path.join(results.hostDir, name));
      else entry.resume();
      collected[name] = kind;
      if (wanted.size === 0) break;
    }
    return collected;
  } finally {
    extract.destroy();
    (archive as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

/** Removes the results volumes carrying all these labels once their containers are gone; one still in use stays. */
export async function removeResultsVolumes(docker: Dockerode, filter: string[]): Promise<void> {
  const { Volumes } = await docker.listVolumes({ filters: { label: filter } });
  for (const volume of Volumes ?? []) {
    await removeVolume(docker, volume.Name).catch((error: unknown) => {
      if (statusOf(error) !== 409) throw error;
    });
  }
}
