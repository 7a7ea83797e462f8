import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { InfrastructureFault } from '../domain/infrastructure-fault.js';
import { WRAPPER_PYTHON } from '../domain/sandbox.js';
import type { ContainerRunSpec, ResultsVolume } from '../ports/container-engine.js';
import { forceRemove, removeVolume, removeVolumeWhenFree } from './docker-common.js';
import { HolderAnswers, type VolumeAnswer } from './holder-answers.js';
import { NO_COPY, tmpfsOptions } from './results-volume.js';

/** Runs' volumes one holder of a group keeps: its start, the largest cost of a run's results, is shared by as many. */
export const VOLUMES_PER_HOLDER = 32;
const HOLDER_MEMORY_BYTES = 32 * 1024 ** 2;
/** How long a removal waits for a volume's last container, removed by someone else, to be gone. */
const VOLUME_FREE_WAIT_MS = 10_000;

/** Where the holder mounts its volumes: none of them is where any run of the image looks. */
const heldPath = (index: number) => `/held/${index}`;

/**
 * The holder's program (container/pvhub_holder.py): for each question read from stdin (a volume's index, then the
 * names to collect), it says what each name is, followed, for a regular file, by its bytes; then how many blocks and
 * inodes of the volume are free; then empties it, so that what a collected run wrote stops taking the host's memory.
 * Reading them itself spares the engine's archive API (a run of its own binary for each archive) and an exec (the
 * runtime started once more); one process for the holder's life spares the seven of a shell's `stat`, `cat`, `chmod`
 * and `find` per file. It runs on the supervisor's interpreter, isolated from site hooks, so nothing a wheel of the
 * submission installed runs in it.
 */
const HOLDER_PROGRAM = readFile(fileURLToPath(new URL('../../container/pvhub_holder.py', import.meta.url)), 'utf8');

/** A name the holder can be asked to collect: one word of a question's line, at the volume's top level. */
const COLLECTABLE = /^[A-Za-z0-9._-]+$/;
const collectable = (name: string) => COLLECTABLE.test(name) && name !== '.' && name !== '..';

const destroy = (stream: NodeJS.ReadWriteStream) =>
  (stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();

/** One run's fresh volume in a holder. */
export interface HeldVolume {
  readonly holder: ResultsHolder;
  readonly index: number;
  /** The volume's name, which the run mounts. */
  readonly name: string;
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
  private readonly answers = new HolderAnswers();

  private constructor(
    private readonly container: Dockerode.Container,
    private readonly stream: NodeJS.ReadWriteStream,
    private readonly volumes: readonly string[],
    private readonly docker: Dockerode,
  ) {
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.answers.read(chunk).then(() => {
          // Out of step: nothing more it says can be read, so it takes no more questions.
          if (this.answers.failed) destroy(stream);
          done();
        }, done);
      },
    });
    // What its program says on stderr (a traceback as it ends) is not read: it is checked by what it says on stdout.
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    container.modem.demuxStream(stream, sink, discard);
    const end = () => {
      this.ended = true;
      this.answers.fail(new InfrastructureFault('engine-unavailable', 'the results holder ended'));
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
        Entrypoint: [WRAPPER_PYTHON, '-I', '-S', '-c', await HOLDER_PROGRAM],
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
    return this.ended || this.answers.failed || this.taken === this.volumes.length;
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
    return { holder: this, index, name: this.volumes[index] as string };
  }

  /**
   * Copies the regular files among `names` from the run's volume into `hostDir`; says what each name was, and whether
   * the run used up the volume's bytes or inodes (it then wanted more than the cap allows). The holder empties the
   * volume after its answer.
   */
  async collect(held: HeldVolume, names: readonly string[], hostDir: string): Promise<VolumeAnswer> {
    const refused = names.find((name) => !collectable(name));
    if (refused !== undefined)
      throw new Error(`a collected name is a plain one at the volume's top level, not ${refused}`);
    if (new Set(names).size !== names.length) throw new Error(`a collected name is named once: ${names.join(', ')}`);
    const answer = await this.ask(held.index, names, hostDir);
    // The holder measures our own tmpfs: when that fails, the engine did (it ended the holder early).
    if (answer.full === undefined)
      throw new InfrastructureFault('engine-unavailable', 'the results volume could not be measured');
    return answer;
  }

  /** The run is done with its volume; one not yet measured is emptied all the same. */
  give(held: HeldVolume): void {
    if (!this.finished.has(held.index)) this.ask(held.index, [], '').catch(() => undefined);
    this.inUse -= 1;
  }

  /** Removes the holder, then its volumes (and with them everything the runs wrote). */
  async remove(): Promise<void> {
    this.ended = true;
    destroy(this.stream);
    await forceRemove(this.container);
    await Promise.all(this.volumes.map((name) => removeVolumeWhenFree(this.docker, name, VOLUME_FREE_WAIT_MS)));
  }

  private ask(index: number, names: readonly string[], hostDir: string): Promise<VolumeAnswer> {
    this.finished.add(index);
    if (this.ended) return Promise.reject(new InfrastructureFault('engine-unavailable', 'the results holder ended'));
    const answer = this.answers.expect(index, names, hostDir);
    this.stream.write(`${[index, ...names].join(' ')}\n`);
    return answer;
  }
}
