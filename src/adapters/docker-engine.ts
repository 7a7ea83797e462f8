import { Writable } from 'node:stream';
import Dockerode from 'dockerode';
import { InfrastructureFault } from '../domain/infrastructure-fault.js';
import type { ManagedContainer } from '../domain/ownership.js';
import type {
  CommitSpec,
  CommittedOutcome,
  ContainerEngine,
  ContainerOutcome,
  ContainerRunSpec,
  ContainerSweep,
  ImageBuildSpec,
  ResultsHolders,
  RunTurn,
} from '../ports/container-engine.js';
import { CappedOutput } from './capped-output.js';
import { buildFromContext } from './docker-build.js';
import { abortError, forceRemove, labelFilter } from './docker-common.js';
import { createOptions } from './docker-run-options.js';
import { commitContainer, DockerImages } from './docker-images.js';
import { unlessAborted } from '../streams/unless-aborted.js';
import { removeResultsVolumes, volumeMount } from './results-volume.js';
import { type ResultsWatch, watchWrittenBytes } from './written-bytes-watch.js';
import { HolderGroups } from './holder-groups.js';

/** How long output may still arrive after the container has exited. */
const OUTPUT_DRAIN_MS = 2_000;
/** What a turn's go writes to the command's stdin (container/pvhub_wrapper.py reads it). */
const GO_LINE = 'go\n';

type StopReason = 'time' | 'abort' | 'results';
type Ending = { readonly statusCode: number; readonly stoppedBy: StopReason | undefined; readonly durationMs: number };

/** A turn and the way to hand its go to the command. */
interface Turn {
  readonly turn: RunTurn;
  readonly send: () => void;
}

/**
 * Starts the container and waits for its end, killing it at the time limit, when the signal fires, or when its
 * writable mounts hold more than the results cap. With a turn, the command warms up until the go, and the clock
 * starts there.
 */
async function runToEnd(
  container: Dockerode.Container,
  timeoutMs: number,
  signal: AbortSignal,
  watch?: ResultsWatch,
  turn?: Turn,
): Promise<Ending> {
  await container.start();
  if (turn !== undefined) {
    await unlessAborted(turn.turn.go, signal, () => abortError(signal));
    turn.send();
  }
  const started = Date.now();
  let stoppedBy: Ending['stoppedBy'];
  const stop = (reason: StopReason) => {
    stoppedBy ??= reason;
    unwatch?.();
    container.kill().catch(() => undefined);
  };
  const onAbort = () => stop('abort');
  const timer = setTimeout(() => stop('time'), timeoutMs);
  const unwatch = watch === undefined ? undefined : watchWrittenBytes(watch, () => stop('results'));
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  try {
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const durationMs = Date.now() - started;
    turn?.turn.ended();
    return { statusCode: StatusCode, stoppedBy, durationMs };
  } finally {
    clearTimeout(timer);
    unwatch?.();
    signal.removeEventListener('abort', onAbort);
  }
}

/** Waits for `settled` at most `ms`, leaving no timer behind: a pending one would keep the process alive. */
async function waitAtMost(settled: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The ContainerEngine over a Docker engine (dockerode); the networks and services of egress are DockerNetworking's,
 * the images DockerImages'.
 */
export class DockerEngine extends DockerImages implements ContainerEngine, ContainerSweep {
  private readonly holders: HolderGroups;

  /** Without options: DOCKER_HOST when set, else /var/run/docker.sock. */
  constructor(options?: Dockerode.DockerOptions) {
    super(new Dockerode(options));
    this.holders = new HolderGroups(this.docker);
  }

  openResultsHolders(labels: Readonly<Record<string, string>>): ResultsHolders {
    return this.holders.open(labels);
  }

  async buildImage(spec: ImageBuildSpec, onLog: (line: string) => void): Promise<void> {
    await buildFromContext(this.docker, spec, onLog);
    await this.refuseOversized(spec.tag, spec.maxSizeBytes);
  }

  async runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    // Its rejection is the run's, thrown where the go is awaited; a run that fails before that must not leave it unhandled.
    spec.turn?.go.catch(() => undefined);
    signal.throwIfAborted();
    const { results } = spec;
    if (results === undefined) return this.runAndRemove(spec, signal, []);
    const holders = this.holders.sourceOf(results);
    const held = await holders.take(spec, results);
    try {
      const outcome = await this.runAndRemove(spec, signal, [volumeMount(held, results)]);
      const { collected, full } = await held.holder.collect(held, results.collect, results.hostDir);
      return { ...outcome, resultsExceeded: outcome.resultsExceeded === true || full, collected };
    } finally {
      await holders.give(held);
    }
  }

  async runAndCommit(spec: ContainerRunSpec, commit: CommitSpec, signal: AbortSignal): Promise<CommittedOutcome> {
    signal.throwIfAborted();
    const outcome = await this.runAndRemove(spec, signal, [], commit);
    if (outcome.image !== undefined) await this.refuseOversized(commit.tag, commit.maxSizeBytes);
    return outcome;
  }

  /** With `commit`, the root is writable and what a run that exits 0 wrote is committed before the removal. */
  private async runAndRemove(
    spec: ContainerRunSpec,
    signal: AbortSignal,
    volumes: Dockerode.MountConfig,
    commit?: CommitSpec,
  ): Promise<CommittedOutcome> {
    const container = await this.docker.createContainer(createOptions(spec, volumes, commit !== undefined));
    let outcome: CommittedOutcome;
    try {
      outcome = await this.supervise(container, spec, signal);
      if (commit !== undefined && outcome.exitCode === 0 && !outcome.oomKilled)
        outcome = { ...outcome, image: await commitContainer(this.docker, container, spec.image, commit.tag) };
    } catch (error) {
      await forceRemove(container);
      throw error;
    }
    // Removed by someone else (the engine marks it before killing it): the kill was theirs, not the submission's.
    if (!(await forceRemove(container)))
      throw new InfrastructureFault(
        'container-vanished',
        `the container ${container.id.slice(0, 12)} was removed from outside while it ran`,
      );
    return outcome;
  }

  private async supervise(
    container: Dockerode.Container,
    spec: ContainerRunSpec,
    signal: AbortSignal,
  ): Promise<ContainerOutcome> {
    signal.throwIfAborted();
    const output = new CappedOutput(spec.outputCapBytes);
    // Attached before the start, so not one byte of output is missed.
    const { turn } = spec;
    const stream = await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
      ...(turn === undefined ? {} : { stdin: true, hijack: true }),
    });
    const drained = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        output.write(chunk);
        done();
      },
    });
    this.docker.modem.demuxStream(stream, sink, sink);
    try {
      const dirs = spec.mounts.filter((mount) => !mount.readOnly).map((mount) => mount.hostPath);
      const watch =
        spec.resultsCapBytes === undefined || dirs.length === 0 ? undefined : { dirs, capBytes: spec.resultsCapBytes };
      const send = () => void (stream as NodeJS.ReadWriteStream).write(GO_LINE);
      const ending = await runToEnd(container, spec.timeoutMs, signal, watch, turn && { turn, send });
      if (ending.stoppedBy === 'abort') throw abortError(signal);
      await waitAtMost(drained, OUTPUT_DRAIN_MS);
      const { State } = await container.inspect();
      const { text, truncated } = output.finish();
      return {
        exitCode: ending.stoppedBy === undefined ? ending.statusCode : null,
        timedOut: ending.stoppedBy === 'time',
        oomKilled: State.OOMKilled,
        resultsExceeded: ending.stoppedBy === 'results',
        output: text,
        outputTruncated: truncated,
        durationMs: ending.durationMs,
      };
    } finally {
      (stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();
    }
  }

  /** Force-removes every container, running or not, that carries all these labels; returns how many. */
  async removeContainers(labels: Readonly<Record<string, string>>): Promise<number> {
    const filter = labelFilter(labels);
    const found = await this.docker.listContainers({ all: true, filters: { label: filter } });
    await Promise.all(found.map((info) => forceRemove(this.docker.getContainer(info.Id))));
    await removeResultsVolumes(this.docker, filter);
    return found.length;
  }

  async listContainers(labels: Readonly<Record<string, string>>): Promise<ManagedContainer[]> {
    const found = await this.docker.listContainers({ all: true, filters: { label: labelFilter(labels) } });
    return found.map((info) => ({ id: info.Id, labels: info.Labels, createdAt: info.Created * 1000 }));
  }

  async removeContainer(id: string): Promise<void> {
    await forceRemove(this.docker.getContainer(id));
  }
}
