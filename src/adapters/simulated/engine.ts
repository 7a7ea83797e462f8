import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InfrastructureFault } from '../../domain/infrastructure-fault.js';
import type { ManagedContainer } from '../../domain/ownership.js';
import type {
  ContainerEngine,
  ContainerOutcome,
  ContainerRunSpec,
  ContainerSweep,
  ImageBuildSpec,
} from '../../ports/container-engine.js';
import { EXAMPLE_TASK } from './hub.js';

/** What the simulated submission does on one data file. */
export type FileBehaviour =
  | { readonly kind: 'correct'; readonly seconds?: number }
  | { readonly kind: 'raises'; readonly message: string }
  /** Runs until its time limit or until it is stopped. */
  | { readonly kind: 'hangs' }
  /** Its container is removed from outside while it runs (by a worker that took it for a dead one's). */
  | { readonly kind: 'vanishes' }
  /** The engine does not answer: the run never starts. */
  | { readonly kind: 'engine-down' }
  /** The engine stops answering: the run never ends, not even when it is stopped. */
  | { readonly kind: 'engine-hangs' }
  /** Killed for memory (the kernel's OOM killer, the container's cgroup or the host's). */
  | { readonly kind: 'out-of-memory' };

const carriesAll = (container: ManagedContainer, labels: Readonly<Record<string, string>>) =>
  Object.entries(labels).every(([key, value]) => container.labels[key] === value);

/**
 * A simulated engine with instant containers: a run plays the wrapper (status.json and output.csv in the results mount) as
 * `behaviour` says, after `delayMs`; an aborted run rejects at once. Every container started, still running or
 * removed by label is counted, so a spec can prove none is left behind. Containers are found and removed by their
 * labels, as on Docker.
 */
export class SimulatedEngine implements ContainerEngine, ContainerSweep {
  readonly started: string[] = [];
  readonly running = new Map<string, ManagedContainer>();
  removals = 0;

  /** Removing a running container (by label or id) ends its run as on Docker: its container is gone. */
  private readonly removal = new Map<string, AbortController>();

  /** `behaviour` is asked at each start of a file, with the number of that start (1 the first). */
  constructor(
    private readonly behaviour: (fileName: string, start: number) => FileBehaviour,
    private readonly delayMs = 0,
    private readonly referenceDir = path.join(EXAMPLE_TASK, 'validation_data'),
  ) {}

  /** Called as each container starts and ends (the playground's timeline). */
  onRun: (what: 'start' | 'end', fileName: string) => void = () => undefined;

  async imageExists(): Promise<boolean> {
    return true;
  }
  async buildImage(_spec: ImageBuildSpec): Promise<void> {}
  async pruneImages(): Promise<string[]> {
    return [];
  }

  async removeContainers(labels: Readonly<Record<string, string>>): Promise<number> {
    this.removals += 1;
    const removed = await this.listContainers(labels);
    for (const container of removed) await this.removeContainer(container.id);
    return removed.length;
  }

  async listContainers(labels: Readonly<Record<string, string>>): Promise<ManagedContainer[]> {
    return [...this.running.values()].filter((container) => carriesAll(container, labels));
  }

  async removeContainer(id: string): Promise<void> {
    this.running.delete(id);
    this.removal.get(id)?.abort();
  }

  /** A container another process made (a worker that died, an older version) that still runs on this engine. */
  leftBehind(labels: Readonly<Record<string, string>>, createdAt = Date.now()): string {
    const id = `left-${this.running.size}-${createdAt}`;
    this.running.set(id, { id, labels, createdAt });
    return id;
  }

  async runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    const dataMount = spec.mounts.find((mount) => mount.containerPath === '/data');
    const resultsMount = spec.mounts.find((mount) => mount.containerPath === '/results');
    if (!dataMount || !resultsMount) throw new Error('a run mounts /data and /results');
    const fileName = spec.labels['pvhub.file'] ?? '?';
    const name = `run-${this.started.length}-${fileName}`;
    this.started.push(fileName);
    const behaviour = this.behaviour(fileName, this.started.filter((started) => started === fileName).length);
    if (behaviour.kind === 'engine-down')
      throw new InfrastructureFault('engine-unavailable', 'connect ECONNREFUSED /var/run/docker.sock');
    if (behaviour.kind === 'engine-hangs') return new Promise<never>(() => undefined);
    this.running.set(name, { id: name, labels: spec.labels, createdAt: Date.now() });
    const removed = new AbortController();
    this.removal.set(name, removed);
    this.onRun('start', fileName);
    try {
      if (behaviour.kind === 'vanishes') await this.removeContainer(name);
      await this.wait(behaviour.kind === 'hangs' ? spec.timeoutMs : this.delayMs, signal, removed.signal);
      if (behaviour.kind === 'hangs')
        return {
          exitCode: null,
          timedOut: true,
          oomKilled: false,
          output: '',
          outputTruncated: false,
          durationMs: spec.timeoutMs,
        };
      if (behaviour.kind === 'out-of-memory')
        return {
          exitCode: 137,
          timedOut: false,
          oomKilled: true,
          output: 'Killed\n',
          outputTruncated: false,
          durationMs: this.delayMs,
        };
      const status = (report: object) =>
        writeFile(path.join(resultsMount.hostPath, 'status.json'), JSON.stringify(report));
      if (behaviour.kind === 'raises') {
        await status({ ok: false, code: 'op_5', message: behaviour.message });
        return {
          exitCode: 1,
          timedOut: false,
          oomKilled: false,
          output: `ValueError: ${behaviour.message}\n`,
          outputTruncated: false,
          durationMs: this.delayMs,
        };
      }
      await copyFile(path.join(this.referenceDir, fileName), path.join(resultsMount.hostPath, 'output.csv'));
      await status({
        ok: true,
        execution_time: behaviour.kind === 'correct' ? (behaviour.seconds ?? 0.5) : 0,
        function_parameters: ['time_series', 'latitude'],
      });
      return {
        exitCode: 0,
        timedOut: false,
        oomKilled: false,
        output: '',
        outputTruncated: false,
        durationMs: this.delayMs,
      };
    } finally {
      this.running.delete(name);
      this.removal.delete(name);
      this.onRun('end', fileName);
    }
  }

  /**
   * Resolves after `ms`; an abort rejects at once, as the real engine's run does, and so does the container's
   * removal, with the fault the real engine's run has then.
   */
  private wait(ms: number, signal: AbortSignal, removed: AbortSignal): Promise<void> {
    const vanished = () =>
      new InfrastructureFault('container-vanished', 'the container was removed from outside while it ran');
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('aborted'));
      if (removed.aborted) return reject(vanished());
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
      removed.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(vanished());
      });
    });
  }
}
