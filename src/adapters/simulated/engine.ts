import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  CollectedEntry,
  ContainerEngine,
  ContainerOutcome,
  ContainerRunSpec,
  ImageBuildSpec,
  InternalNetwork,
  ServiceSpec,
} from '../../ports/container-engine.js';
import { unlessAborted } from '../../streams/unless-aborted.js';
import { EXAMPLE_TASK } from './hub.js';

/** The proxy image a simulated job's egress starts (the simulated engine has every image). */
export const SIMULATED_PROXY_IMAGE = 'pvhub-egress-proxy:simulated';

/** What the simulated submission does on one data file. */
export type FileBehaviour =
  | { readonly kind: 'correct'; readonly seconds?: number }
  | { readonly kind: 'raises'; readonly message: string }
  /** Runs until its time limit or until it is stopped. */
  | { readonly kind: 'hangs' }
  /** Returns, the wrapper reports success, and something other than a file is left where the output belongs. */
  | { readonly kind: 'leaves'; readonly output: Exclude<CollectedEntry, 'file'> };

/**
 * A simulated engine with instant containers: a run plays the wrapper (status.json and output.csv, as the engine
 * copies them out of the results volume) as `behaviour` says, after `delayMs`; an aborted run rejects at once. Every container started, still running or
 * removed by label is counted, so a spec can prove none is left behind.
 */
export class SimulatedEngine implements ContainerEngine {
  readonly started: string[] = [];
  /** The files whose run began: their container's turn came (a container started ahead may never get one). */
  readonly ran: string[] = [];
  readonly running = new Set<string>();
  removals = 0;
  /** Networks that exist, by name, with their labels; and services (the proxies), by id. */
  readonly networks = new Map<string, Readonly<Record<string, string>>>();
  readonly services = new Map<string, Readonly<Record<string, string>>>();
  /** Every network ever made; each run's network, in the order they started (undefined: no network). */
  readonly madeNetworks: string[] = [];
  readonly runNetworks: Array<string | undefined> = [];

  constructor(
    private readonly behaviour: (fileName: string) => FileBehaviour,
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
  /** No registry: every image is there already. */
  async pullImage(): Promise<void> {}

  async removeContainers(labels: Readonly<Record<string, string>>): Promise<number> {
    this.removals += 1;
    const removed = [...this.running].filter(() => labels['pvhub.managed'] === 'true');
    for (const name of removed) this.running.delete(name);
    const services = [...this.services].filter(([, own]) => carries(own, labels));
    for (const [id] of services) this.services.delete(id);
    return removed.length + services.length;
  }

  async createInternalNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<InternalNetwork> {
    if (this.networks.has(name)) throw new Error(`network ${name} exists`);
    this.networks.set(name, labels);
    this.madeNetworks.push(name);
    return { name, subnet: `10.${this.networks.size}.0.0/16` };
  }

  async connectToNetwork(container: string, network: string): Promise<string> {
    if (!this.services.has(container) || !this.networks.has(network)) throw new Error(`no ${container} or ${network}`);
    return `10.${[...this.networks.keys()].indexOf(network) + 1}.0.2`;
  }

  /** Refuses, as Docker does, while a service still uses the network. */
  async removeNetworks(labels: Readonly<Record<string, string>>): Promise<number> {
    const removed = [...this.networks].filter(([, own]) => carries(own, labels));
    if (removed.length > 0 && [...this.services.values()].some((own) => carries(own, labels)))
      throw new Error('network has active endpoints');
    for (const [name] of removed) this.networks.delete(name);
    return removed.length;
  }

  async startService(spec: ServiceSpec): Promise<string> {
    const id = `service-${this.services.size}-${Date.now()}`;
    this.services.set(id, spec.labels);
    return id;
  }

  async serviceOutput(): Promise<{ stdout: string; stderr: string }> {
    return { stdout: '', stderr: '' };
  }

  async engineAddresses(): Promise<string[]> {
    return [];
  }

  async runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    const dataMount = spec.mounts.find((mount) => mount.containerPath === '/data');
    const results = spec.results;
    if (!dataMount || results?.containerPath !== '/results')
      throw new Error('a run mounts /data and writes to a results volume at /results');
    const fileName = spec.labels['pvhub.file'] ?? '?';
    const name = `run-${this.started.length}-${fileName}`;
    this.started.push(fileName);
    this.runNetworks.push(spec.network?.name);
    this.running.add(name);
    const behaviour = this.behaviour(fileName);
    let began = false;
    try {
      // Started ahead of its turn, it waits for its go; the run (and the timeline's start) begins there.
      if (spec.turn) await unlessAborted(spec.turn.go, signal, () => new Error('aborted'));
      began = true;
      this.ran.push(fileName);
      this.onRun('start', fileName);
      await this.wait(behaviour.kind === 'hangs' ? spec.timeoutMs : this.delayMs, signal);
      spec.turn?.ended();
      if (behaviour.kind === 'hangs')
        return {
          exitCode: null,
          timedOut: true,
          oomKilled: false,
          output: '',
          outputTruncated: false,
          durationMs: spec.timeoutMs,
        };
      const status = (report: object) => writeFile(path.join(results.hostDir, 'status.json'), JSON.stringify(report));
      if (behaviour.kind === 'raises') {
        await status({ ok: false, code: 'sb_500', message: behaviour.message });
        const collected = { 'output.csv': 'missing', 'status.json': 'file' } as const;
        return {
          exitCode: 1,
          timedOut: false,
          oomKilled: false,
          output: `ValueError: ${behaviour.message}\n`,
          outputTruncated: false,
          durationMs: this.delayMs,
          collected,
        };
      }
      const seconds = behaviour.kind === 'correct' ? (behaviour.seconds ?? 0.5) : 0.5;
      await status({ ok: true, execution_time: seconds, function_parameters: ['time_series', 'latitude'] });
      // The engine's clock: a container runs at least as long as the call the wrapper timed inside it.
      const ran = {
        exitCode: 0,
        timedOut: false,
        oomKilled: false,
        output: '',
        outputTruncated: false,
        durationMs: Math.max(this.delayMs, seconds * 1000),
      };
      if (behaviour.kind === 'leaves')
        return { ...ran, collected: { 'output.csv': behaviour.output, 'status.json': 'file' } };
      await copyFile(path.join(this.referenceDir, fileName), path.join(results.hostDir, 'output.csv'));
      return { ...ran, collected: { 'output.csv': 'file', 'status.json': 'file' } };
    } finally {
      this.running.delete(name);
      if (began) this.onRun('end', fileName);
    }
  }

  /** Resolves after `ms`; an abort rejects at once, as the real engine's run does. */
  private wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('aborted'));
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    });
  }
}

const carries = (own: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>) =>
  Object.entries(labels).every(([key, value]) => own[key] === value);
