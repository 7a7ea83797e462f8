import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalTaskStore } from '../src/adapters/local-task-store.js';
import type { FileMetadata, SystemMetadata } from '../src/domain/metadata.js';
import type { ManagedContainer } from '../src/domain/ownership.js';
import type {
  ContainerEngine,
  ContainerOutcome,
  ContainerRunSpec,
  ContainerSweep,
  EngineImage,
  InternalNetwork,
  ResultsHolders,
} from '../src/ports/container-engine.js';
import type { HubApi } from '../src/ports/hub-api.js';
import { ObjectNotFoundError, type ObjectStore } from '../src/ports/object-store.js';
import { unlessAborted } from '../src/streams/unless-aborted.js';

/**
 * The memory benchmark's ports: the fakes behind the worker keep no per-file record, as the real engine, Hub and
 * bucket keep none in the worker's process, so the RSS measured is the worker's own. They count what they are
 * asked, in numbers only, so the benchmark can check that every file ran and was reported.
 */

/** Calls counted by the fakes. */
export class CallCounts {
  containers = 0;
  progress = 0;
  fileErrors = 0;
  results = 0;
  uploads = 0;
}

const unused = (what: string) => new Error(`the memory benchmark's engine has no ${what}`);

/**
 * An engine whose containers are instant: each plays the wrapper of a correct submission (status.json, and the
 * reference copied as the output) at its turn's go. No egress, no report image, nothing left running.
 */
export class InstantEngine implements ContainerEngine, ContainerSweep {
  constructor(
    private readonly referenceDir: string,
    private readonly counts: CallCounts,
  ) {}

  openResultsHolders(): ResultsHolders {
    return { id: 'instant', close: async () => undefined };
  }

  async runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    const fileName = spec.labels['pvhub.file'];
    if (fileName === undefined || spec.results === undefined) throw unused('report containers');
    this.counts.containers += 1;
    if (spec.turn) await unlessAborted(spec.turn.go, signal, () => new Error('aborted'));
    spec.turn?.ended();
    const status = { ok: true, execution_time: 0.01, function_parameters: ['time_series', 'latitude'] };
    await writeFile(path.join(spec.results.hostDir, 'status.json'), JSON.stringify(status));
    await copyFile(path.join(this.referenceDir, fileName), path.join(spec.results.hostDir, 'output.csv'));
    return {
      exitCode: 0,
      timedOut: false,
      oomKilled: false,
      output: '',
      outputTruncated: false,
      durationMs: 10,
      collected: { 'output.csv': 'file', 'status.json': 'file' },
    };
  }

  async imageExists(): Promise<boolean> {
    return true;
  }
  async imageId(): Promise<string | undefined> {
    return undefined;
  }
  async tagImage(): Promise<void> {}
  async pullImage(): Promise<void> {}
  async buildImage(): Promise<void> {}
  async runAndCommit(): Promise<never> {
    throw unused('commits');
  }
  async listImages(): Promise<EngineImage[]> {
    return [];
  }
  async removeImage(): Promise<boolean> {
    return false;
  }
  async removeContainers(): Promise<number> {
    return 0;
  }
  async listContainers(): Promise<ManagedContainer[]> {
    return [];
  }
  async removeContainer(): Promise<void> {}
  async createInternalNetwork(): Promise<InternalNetwork> {
    throw unused('networks');
  }
  async connectToNetwork(): Promise<string> {
    throw unused('networks');
  }
  async removeNetworks(): Promise<number> {
    return 0;
  }
  async startService(): Promise<string> {
    throw unused('services');
  }
  async serviceOutput(): Promise<{ stdout: string; stderr: string }> {
    return { stdout: '', stderr: '' };
  }
  async engineAddresses(): Promise<string[]> {
    return [];
  }
}

/**
 * A Hub that answers each file's metadata from its id (`metadataOf`), as the Hub's API does from its database, and
 * takes every report without keeping it.
 */
export class CountingHub implements HubApi {
  constructor(
    private readonly metadataOf: (fileId: number) => FileMetadata,
    private readonly systems: readonly SystemMetadata[],
    private readonly counts: CallCounts,
  ) {}

  async fileMetadata(fileId: number): Promise<FileMetadata> {
    return this.metadataOf(fileId);
  }
  async fileMetadataMany(fileIds: readonly number[]): Promise<FileMetadata[]> {
    return fileIds.map(this.metadataOf);
  }
  async systemMetadata(): Promise<SystemMetadata[]> {
    return [...this.systems];
  }
  async pythonVersions(): Promise<string[]> {
    return ['3.11'];
  }
  async setStatus(): Promise<void> {}
  async createBlankErrorReport(): Promise<void> {}
  async progressIncrement(): Promise<void> {
    this.counts.progress += 1;
  }
  async reportFileError(): Promise<void> {
    this.counts.fileErrors += 1;
  }
  async reportBreakingError(): Promise<void> {}
  async updateResult(): Promise<void> {
    this.counts.results += 1;
  }
}

/**
 * The bucket: the task and the submission read from a task folder (LocalTaskStore), no ledger from an earlier
 * attempt, and every upload (the ledger's entries, the outputs, the results, the logs) taken and dropped, so the
 * worker's own StoreLedger and StorePublisher do what they do in the service.
 */
export class TaskBucket implements ObjectStore {
  private readonly task: LocalTaskStore;

  constructor(
    taskDir: string,
    submission: string,
    private readonly counts: CallCounts,
  ) {
    this.task = new LocalTaskStore(taskDir, submission);
  }

  list(prefix: string): Promise<string[]> {
    return this.task.list(prefix);
  }

  async download(key: string, destinationPath: string): Promise<void> {
    if (key.includes('/ledger/')) throw new ObjectNotFoundError(key);
    await this.task.download(key, destinationPath);
  }

  async upload(): Promise<void> {
    this.counts.uploads += 1;
  }
}
