import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import { InfrastructureFault } from '../domain/infrastructure-fault.js';
import type { ContainerRunSpec, ResultsVolume } from '../ports/container-engine.js';
import { forceRemove, removeVolume } from './docker-common.js';
import { NO_COPY, tmpfsOptions } from './results-volume.js';

/** Runs' volumes one holder of a group keeps: its start, the largest cost of a run's results, is shared by as many. */
export const VOLUMES_PER_HOLDER = 8;
const HOLDER_MEMORY_BYTES = 32 * 1024 ** 2;

/** Where the holder mounts its volumes: none of them is where any run of the image looks. */
const heldPath = (index: number) => `/held/${index}`;

/**
 * For each index read from stdin: says how many blocks and inodes of that volume are free, then empties it, so that
 * what a collected run wrote stops taking the host's memory. stdin closes when the worker's attach ends, so a holder
 * whose worker is gone ends at once. Its own processes, not execs: an exec would start the engine's runtime once
 * more, for as much CPU as the holder's start. Absolute paths: a wheel may put programs of its own earlier on the
 * image's PATH. The chmod: a run may have left folders that even their owner cannot enter.
 */
const HOLDER_COMMAND = [
  '/bin/sh',
  '-c',
  [
    'while read -r i; do',
    'd=/held/$i;',
    '/usr/bin/stat --file-system --format "$i %f %d" "$d" 2>/dev/null || echo "$i unmeasured";',
    '/bin/chmod -R u+rwX "$d" 2>/dev/null;',
    '/usr/bin/find "$d" -mindepth 1 -delete 2>/dev/null;',
    'done',
  ].join(' '),
];

const destroy = (stream: NodeJS.ReadWriteStream) =>
  (stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();

/** One run's fresh volume in a holder. */
export interface HeldVolume {
  readonly holder: ResultsHolder;
  readonly index: number;
  /** The volume's name, which the run mounts. */
  readonly name: string;
  /** Where the holder has it mounted, which the results are collected from. */
  readonly path: string;
}

/**
 * Keeps runs' results volumes mounted. The engine unmounts a tmpfs volume, and so drops what it holds, when the last
 * container using it stops; its archive API cannot read a container's own tmpfs mounts at all. So an idle container
 * holds the volumes until the worker has collected from them. Each volume is fresh, and given to one run only: the
 * run mounts that volume and no other. The holder runs as the runs' uid, so that it may empty what they wrote; it
 * shares no namespace with them, so they cannot signal it, and it runs nothing of the submission's.
 */
export class ResultsHolder {
  private taken = 0;
  private inUse = 0;
  private ended = false;
  private readonly finished = new Set<number>();
  private readonly replies = new Map<number, (line: string | undefined) => void>();

  private constructor(
    private readonly container: Dockerode.Container,
    private readonly stream: NodeJS.ReadWriteStream,
    private readonly volumes: readonly string[],
    private readonly docker: Dockerode,
  ) {
    let pending = '';
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        const lines = (pending + chunk.toString('utf8')).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) this.answer(line);
        done();
      },
    });
    container.modem.demuxStream(stream, sink, sink);
    const end = () => {
      this.ended = true;
      for (const reply of this.replies.values()) reply(undefined);
      this.replies.clear();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  /** Creates `count` volumes and starts their holder; all are gone again when this rejects. */
  static async start(
    docker: Dockerode,
    spec: ContainerRunSpec,
    results: ResultsVolume,
    labels: Readonly<Record<string, string>>,
    count: number,
  ): Promise<ResultsHolder> {
    const names = Array.from({ length: count }, () => `pvhub-results-${randomUUID()}`);
    const driverOpts = tmpfsOptions(results, spec.user);
    const created = await Promise.allSettled(
      names.map((name) =>
        docker.createVolume({ Name: name, Driver: 'local', DriverOpts: driverOpts, Labels: { ...labels } }),
      ),
    );
    let container: Dockerode.Container | undefined;
    try {
      const refused = created.find((outcome) => outcome.status === 'rejected');
      if (refused !== undefined) throw refused.reason;
      container = await docker.createContainer({
        Image: spec.image,
        Entrypoint: HOLDER_COMMAND,
        Cmd: [],
        User: spec.user,
        Labels: { ...labels, 'pvhub.role': 'results-holder' },
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
          Mounts: names.map((name, index) => ({
            Type: 'volume',
            Source: name,
            Target: heldPath(index),
            ReadOnly: false,
            VolumeOptions: NO_COPY,
          })),
        },
      });
      const stream = (await container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as NodeJS.ReadWriteStream;
      const holder = new ResultsHolder(container, stream, names, docker);
      await container.start().catch((error: unknown) => {
        destroy(stream);
        throw error;
      });
      return holder;
    } catch (error) {
      if (container !== undefined) await forceRemove(container);
      await Promise.all(names.map((name) => removeVolume(docker, name)));
      throw error;
    }
  }

  /** The id of its container. */
  get id(): string {
    return this.container.id;
  }

  /** No volume is left to take: all were taken, or the holder has ended. */
  get spent(): boolean {
    return this.ended || this.taken === this.volumes.length;
  }

  /** No run has a volume of it that was not given back. */
  get idle(): boolean {
    return this.inUse === 0;
  }

  /** The next fresh volume, for one run; undefined when it is spent. */
  take(): HeldVolume | undefined {
    if (this.spent) return undefined;
    const index = this.taken;
    this.taken += 1;
    this.inUse += 1;
    return { holder: this, index, name: this.volumes[index] as string, path: heldPath(index) };
  }

  /** The volume's archive, as the engine makes it of the folder where the holder has it. */
  archive(held: HeldVolume): Promise<NodeJS.ReadableStream> {
    return this.container.getArchive({ path: held.path });
  }

  /**
   * Whether the run used up its volume's bytes or inodes: it then wanted more than the cap allows. Asked once the
   * results are collected: the holder empties the volume after its answer.
   */
  async full(held: HeldVolume): Promise<boolean> {
    const line = await this.ask(held.index);
    const counts = /^\d+ (\d+) (\d+)$/.exec(line ?? '');
    // The holder runs our own stat on our own tmpfs: when that fails, the engine did (it ended the holder early).
    if (counts === null)
      throw new InfrastructureFault(
        'engine-unavailable',
        `the results volume could not be measured: ${line === undefined ? 'its holder ended' : line}`,
      );
    return counts[1] === '0' || counts[2] === '0';
  }

  /** The run is done with its volume; one not yet measured is emptied all the same. */
  give(held: HeldVolume): void {
    if (!this.finished.has(held.index)) void this.ask(held.index);
    this.inUse -= 1;
  }

  /** Removes the holder, then its volumes (and with them everything the runs wrote). */
  async remove(): Promise<void> {
    this.ended = true;
    destroy(this.stream);
    await forceRemove(this.container);
    await Promise.all(this.volumes.map((name) => removeVolume(this.docker, name)));
  }

  private ask(index: number): Promise<string | undefined> {
    this.finished.add(index);
    if (this.ended) return Promise.resolve(undefined);
    const reply = new Promise<string | undefined>((resolve) => this.replies.set(index, resolve));
    this.stream.write(`${index}\n`);
    return reply;
  }

  private answer(line: string): void {
    const index = Number(/^(\d+) /.exec(line)?.[1]);
    const reply = this.replies.get(index);
    if (reply === undefined) return;
    this.replies.delete(index);
    reply(line.trim());
  }
}
