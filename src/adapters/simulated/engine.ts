import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InfrastructureFault } from '../../domain/infrastructure-fault.js';
import type { ManagedContainer } from '../../domain/ownership.js';
import type {
  ContainerEngine,
  ContainerOutcome,
  ContainerRunSpec,
  ContainerSweep,
  EngineImage,
  ImageBuildSpec,
  InternalNetwork,
  ResultsHolders,
  ServiceSpec,
} from '../../ports/container-engine.js';
import { unlessAborted } from '../../streams/unless-aborted.js';
import { type FileBehaviour, fileOutcome } from './file-outcomes.js';
import { EXAMPLE_TASK } from './hub.js';

/** The proxy image a simulated job's egress starts (the simulated engine has every image). */
export const SIMULATED_PROXY_IMAGE = 'pvhub-egress-proxy:simulated';

/**
 * A simulated engine with instant containers: a run plays the wrapper (status.json and output.csv, as the engine
 * copies them out of the results volume) as `behaviour` says, after `delayMs`; an aborted run rejects at once. Every
 * container started, still running or removed by label is counted, so a spec can prove none is left behind.
 * Containers are found and removed by their labels, as on Docker.
 */
export class SimulatedEngine implements ContainerEngine, ContainerSweep {
  readonly started: string[] = [];
  /** The files whose run began: their container's turn came (a container started ahead may never get one). */
  readonly ran: string[] = [];
  readonly running = new Map<string, ManagedContainer>();
  removals = 0;
  /** Networks that exist, by name, with their labels; and services (the proxies), by id. */
  readonly networks = new Map<string, Readonly<Record<string, string>>>();
  readonly services = new Map<string, Readonly<Record<string, string>>>();
  /** Every network ever made; each run's network, in the order they started (undefined: no network). */
  readonly madeNetworks: string[] = [];
  readonly runNetworks: Array<string | undefined> = [];
  /** The /etc/hosts each run was given, in the order they started (undefined: the engine's own, on a network). */
  readonly runHosts: Array<string | undefined> = [];
  /** Groups of results holders opened and not closed yet; a run that names another is refused. */
  readonly openHolders = new Set<string>();
  holderGroupsOpened = 0;
  /** Each file run's group of results holders, in the order they started (undefined: a holder of its own). */
  readonly runHolders: Array<string | undefined> = [];

  /** Removing a running container (by label or id) ends its run as on Docker: its container is gone. */
  private readonly removal = new Map<string, AbortController>();

  /** `behaviour` is asked at each start of a file, with the number of that start (1 the first). */
  constructor(
    private readonly behaviour: (fileName: string, start: number) => FileBehaviour,
    private readonly delayMs = 0,
    private readonly referenceDir = path.join(EXAMPLE_TASK, 'validation_data'),
  ) {}

  /**
   * When the report containers end: each one, once its rows are given, waits for this (a spec holds the report
   * back with a promise it resolves itself), then writes a report of its rows. Default: at once.
   */
  reportRender: () => Promise<void> = async () => undefined;
  /** Each report's rows, as its container read them. */
  readonly reportRows: string[][] = [];

  /** Called as each container starts and ends (the playground's timeline). */
  onRun: (what: 'start' | 'end', fileName: string) => void = () => undefined;

  async imageExists(): Promise<boolean> {
    return true;
  }
  async imageId(reference: string): Promise<string> {
    return `sha256:simulated-${reference}`;
  }
  async tagImage(): Promise<void> {}
  async buildImage(_spec: ImageBuildSpec): Promise<void> {}
  /** The simulated images are made by SimulatedImages, not by runs. */
  async runAndCommit(): Promise<never> {
    throw new Error('the simulated engine commits no runs');
  }
  /** No image it was given can be pruned: there are none to list. */
  async listImages(): Promise<EngineImage[]> {
    return [];
  }
  async removeImage(): Promise<boolean> {
    return false;
  }
  /** No registry: every image is there already. */
  async pullImage(): Promise<void> {}

  async removeContainers(labels: Readonly<Record<string, string>>): Promise<number> {
    this.removals += 1;
    const removed = await this.listContainers(labels);
    for (const container of removed) await this.removeContainer(container.id);
    const services = [...this.services].filter(([, own]) => carries(own, labels));
    for (const [id] of services) this.services.delete(id);
    return removed.length + services.length;
  }

  async listContainers(labels: Readonly<Record<string, string>>): Promise<ManagedContainer[]> {
    return [...this.running.values()].filter((container) => carries(container.labels, labels));
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

  openResultsHolders(): ResultsHolders {
    this.holderGroupsOpened += 1;
    const id = `holders-${this.holderGroupsOpened}`;
    this.openHolders.add(id);
    return { id, close: async () => void this.openHolders.delete(id) };
  }

  async runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    // As on Docker: the go's rejection is the run's, and a run that fails before its go leaves it handled.
    spec.turn?.go.catch(() => undefined);
    if (spec.labels['pvhub.report'] !== undefined) return this.runReport(spec, signal);
    const dataMount = spec.mounts.find((mount) => mount.containerPath === '/data');
    const results = spec.results;
    if (!dataMount || results?.containerPath !== '/results')
      throw new Error('a run mounts /data and writes to a results volume at /results');
    if (results.holders !== undefined && !this.openHolders.has(results.holders))
      throw new Error(`the results holders ${results.holders} are not open`);
    const fileName = spec.labels['pvhub.file'] ?? '?';
    const name = `run-${this.started.length}-${fileName}`;
    this.started.push(fileName);
    this.runHolders.push(results.holders);
    const behaviour = this.behaviour(fileName, this.started.filter((started) => started === fileName).length);
    if (behaviour.kind === 'engine-down')
      throw new InfrastructureFault('engine-unavailable', 'connect ECONNREFUSED /var/run/docker.sock');
    if (behaviour.kind === 'engine-hangs') return new Promise<never>(() => undefined);
    this.runNetworks.push(spec.network?.name);
    // Read at once, as the engine mounts it at the start: the workspace is gone once the job ends.
    this.runHosts.push(spec.hostsFile === undefined ? undefined : readFileSync(spec.hostsFile, 'utf8'));
    this.running.set(name, { id: name, labels: spec.labels, createdAt: Date.now() });
    const removed = new AbortController();
    this.removal.set(name, removed);
    let began = false;
    try {
      // Started ahead of its turn, it waits for its go; the run (and the timeline's start) begins there.
      if (spec.turn) await unlessAborted(spec.turn.go, signal, () => new Error('aborted'));
      began = true;
      this.ran.push(fileName);
      this.onRun('start', fileName);
      if (behaviour.kind === 'vanishes') await this.removeContainer(name);
      await this.wait(behaviour.kind === 'hangs' ? spec.timeoutMs : this.delayMs, signal, removed.signal);
      spec.turn?.ended();
      return await fileOutcome(behaviour, {
        timeoutMs: spec.timeoutMs,
        delayMs: this.delayMs,
        hostDir: results.hostDir,
        reference: path.join(this.referenceDir, fileName),
      });
    } finally {
      this.running.delete(name);
      this.removal.delete(name);
      if (began) this.onRun('end', fileName);
    }
  }

  /** A report container: it waits for its rows, then for `reportRender`, and writes report.html from them. */
  private async runReport(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    const input = spec.mounts.find((mount) => mount.containerPath === '/input');
    const results = spec.results;
    if (!input || results === undefined) throw new Error('a report mounts /input and writes to a results volume');
    const name = `report-${this.started.length}`;
    this.started.push('report');
    this.running.set(name, { id: name, labels: spec.labels, createdAt: Date.now() });
    const removed = new AbortController();
    this.removal.set(name, removed);
    this.onRun('start', 'report');
    try {
      let rows: string | undefined;
      while (
        (rows = await readFile(path.join(input.hostPath, 'args.json'), 'utf8').catch(() => undefined)) === undefined
      )
        await this.wait(5, signal, removed.signal);
      this.reportRows.push(JSON.parse(rows) as string[]);
      await new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        this.reportRender().then(resolve, reject);
      });
      await writeFile(path.join(results.hostDir, 'report.html'), `<html>${rows}</html>`);
      return { exitCode: 0, timedOut: false, oomKilled: false, output: '', outputTruncated: false, durationMs: 1 };
    } finally {
      this.running.delete(name);
      this.removal.delete(name);
      this.onRun('end', 'report');
    }
  }

  /**
   * Resolves after `ms`; an abort rejects at once, as the real engine's run does, and so does the container's
   * removal, with the fault the real engine's run has then.
   */
  private wait(ms: number, signal: AbortSignal, removed?: AbortSignal): Promise<void> {
    const vanished = () =>
      new InfrastructureFault('container-vanished', 'the container was removed from outside while it ran');
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('aborted'));
      if (removed?.aborted) return reject(vanished());
      const settle = (end: () => void) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        removed?.removeEventListener('abort', onRemoved);
        end();
      };
      const onAbort = () => settle(() => reject(new Error('aborted')));
      const onRemoved = () => settle(() => reject(vanished()));
      const timer = setTimeout(() => settle(resolve), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      removed?.addEventListener('abort', onRemoved, { once: true });
    });
  }
}

const carries = (own: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>) =>
  Object.entries(labels).every(([key, value]) => own[key] === value);
