import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import { InfrastructureFault } from '../domain/infrastructure-fault.js';
import tar from 'tar-stream';
import type { CollectedEntry, ContainerRunSpec, ResultsVolume } from '../ports/container-engine.js';
import { forceRemove, removeVolume, statusOf } from './docker-common.js';

/** Files and folders a run may create in its results: the tmpfs has no more inodes than this (its root included). */
export const RESULTS_MAX_ENTRIES = 10_000;
/** Not the run's uid: the submission can neither signal the holder nor reach the volume through it. */
const HOLDER_USER = '65534:65534';
const HOLDER_MEMORY_BYTES = 32 * 1024 ** 2;
/**
 * The holder waits for a line on its stdin, then says how many blocks and inodes of the volume are free, and ends.
 * Its stdin closes when the worker's attach ends, so a holder whose worker is gone ends at once. Its own process
 * measures: an exec would start the engine's runtime once more, for as much CPU as the holder's start. Absolute
 * paths: a wheel may put programs of its own earlier on the image's PATH.
 */
const holderCommand = (containerPath: string) => [
  '/bin/sh',
  '-c',
  'read -r line && exec /usr/bin/stat --file-system --format "%f %d" "$0"',
  containerPath,
];

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
const NO_COPY = { NoCopy: true } as Dockerode.MountSettings['VolumeOptions'];

/**
 * A run's results volume and the container that keeps it mounted. The engine unmounts a tmpfs volume, and so drops
 * what it holds, when the last container using it stops; its archive API cannot read a container's own tmpfs mounts
 * at all. So a second, idle container holds the volume (read-only) until the worker has collected from it.
 */
export interface HeldVolume {
  readonly name: string;
  readonly holder: Dockerode.Container;
  /** The holder's stdin and output, attached before its start. */
  readonly stream: NodeJS.ReadWriteStream;
  /** What the holder wrote, once its output has ended. */
  readonly output: Promise<string>;
}

/** The holder's output as text, until its stream ends (the holder has ended, or the attach was dropped). */
function outputOf(holder: Dockerode.Container, stream: NodeJS.ReadWriteStream): Promise<string> {
  let text = '';
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      text += chunk.toString('utf8');
      done();
    },
  });
  holder.modem.demuxStream(stream, sink, sink);
  return new Promise((resolve) => {
    stream.on('end', () => resolve(text));
    stream.on('close', () => resolve(text));
    stream.on('error', () => resolve(text));
  });
}

/** The tmpfs: limited by the kernel in bytes and inodes, nothing on it executable or special, owned by the run's uid. */
function tmpfsOptions(results: ResultsVolume, user: string): Record<string, string> {
  const ids = /^(\d+):(\d+)$/.exec(user);
  if (ids === null) throw new Error(`a results volume needs a numeric uid:gid user, not ${user}`);
  const [, uid, gid] = ids;
  return {
    type: 'tmpfs',
    device: 'tmpfs',
    o: `size=${results.capBytes},nr_inodes=${RESULTS_MAX_ENTRIES},nosuid,nodev,noexec,uid=${uid},gid=${gid},mode=0700`,
  };
}

/** Creates the volume and starts its holder; both are gone again when this rejects. */
export async function holdResultsVolume(
  docker: Dockerode,
  results: ResultsVolume,
  spec: ContainerRunSpec,
): Promise<HeldVolume> {
  const name = `pvhub-results-${randomUUID()}`;
  await docker.createVolume({
    Name: name,
    Driver: 'local',
    DriverOpts: tmpfsOptions(results, spec.user),
    Labels: { ...spec.labels },
  });
  let holder: Dockerode.Container | undefined;
  try {
    holder = await docker.createContainer({
      Image: spec.image,
      Entrypoint: holderCommand(results.containerPath),
      Cmd: [],
      User: HOLDER_USER,
      Labels: { ...spec.labels, 'pvhub.role': 'results-holder' },
      Env: [],
      // Not even a sandbox of the engine's: its network namespace stays empty, and the engine's network hook (a
      // re-run of its own binary, as much CPU as the rest of the start) is not run.
      NetworkDisabled: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: true,
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Memory: HOLDER_MEMORY_BYTES,
        MemorySwap: HOLDER_MEMORY_BYTES,
        // Threads count: the runtime's own start-up (Go) runs in the container's group, with several.
        PidsLimit: 64,
        LogConfig: { Type: 'none', Config: {} },
        Mounts: [
          { Type: 'volume', Source: name, Target: results.containerPath, ReadOnly: true, VolumeOptions: NO_COPY },
        ],
      },
    });
    const stream = (await holder.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as NodeJS.ReadWriteStream;
    const output = outputOf(holder, stream);
    await holder.start().catch((error: unknown) => {
      destroy(stream);
      throw error;
    });
    return { name, holder, stream, output };
  } catch (error) {
    if (holder !== undefined) await forceRemove(holder);
    await removeVolume(docker, name);
    throw error;
  }
}

/** The run container's mount of the volume. */
export const volumeMount = (held: HeldVolume, results: ResultsVolume): Dockerode.MountSettings => ({
  Type: 'volume',
  Source: held.name,
  Target: results.containerPath,
  ReadOnly: false,
  VolumeOptions: NO_COPY,
});

const destroy = (stream: NodeJS.ReadWriteStream) =>
  (stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();

/** Removes the holder, then the volume (and with it everything the run wrote). */
export async function releaseResultsVolume(docker: Dockerode, held: HeldVolume): Promise<void> {
  destroy(held.stream);
  await forceRemove(held.holder);
  await removeVolume(docker, held.name);
}

/**
 * Whether the run used up the volume's bytes or inodes: it then wanted more than the cap allows. Asked once the
 * results are collected: the holder ends with its answer, and the volume is unmounted with it.
 */
export async function volumeFull(held: HeldVolume): Promise<boolean> {
  held.stream.write('measure\n');
  const text = await held.output;
  const counts = /^(\d+) (\d+)\s*$/.exec(text);
  // The holder runs our own stat on our own tmpfs: when that fails, the engine did (it ended the holder early).
  if (counts === null)
    throw new InfrastructureFault('engine-unavailable', `the results volume could not be measured: ${text.trim()}`);
  return counts[1] === '0' || counts[2] === '0';
}

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
  const archive = await held.holder.getArchive({ path: results.containerPath });
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
