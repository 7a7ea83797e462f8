import type Dockerode from 'dockerode';
import type { ResultsVolume } from '../ports/container-engine.js';
import { removeVolume, statusOf } from './docker-common.js';
import type { HeldVolume } from './results-holder.js';

/** Files and folders a run may create in its results: the tmpfs has no more inodes than this (its root included). */
export const RESULTS_MAX_ENTRIES = 10_000;

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

/** Removes the results volumes carrying all these labels once their containers are gone; one still in use stays. */
export async function removeResultsVolumes(docker: Dockerode, filter: string[]): Promise<void> {
  const { Volumes } = await docker.listVolumes({ filters: { label: filter } });
  for (const volume of Volumes ?? []) {
    await removeVolume(docker, volume.Name).catch((error: unknown) => {
      if (statusOf(error) !== 409) throw error;
    });
  }
}
