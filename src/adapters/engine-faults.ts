import { WorkerError } from '../domain/errors.js';
import { type FaultKind, InfrastructureFault } from '../domain/infrastructure-fault.js';
import type { ManagedContainer } from '../domain/ownership.js';
import { isNetworkError } from '../domain/retry.js';
import type { ContainerEngine, ContainerOutcome, ContainerRunSpec, ContainerSweep, ImageBuildSpec } from '../ports/container-engine.js';

type EngineFaultKind = Exclude<FaultKind, 'host-out-of-memory'>;

interface EngineError {
  readonly statusCode?: number;
  readonly code?: string;
  readonly syscall?: string;
  readonly message?: string;
}

/**
 * What an error of the Docker engine's client says about the engine, if anything: a container that is gone (404 no
 * such container, or being removed) was removed from outside, under a run; a refused or broken connection to the
 * engine's socket, or an engine answering 5xx, is the engine restarting or down.
 */
export function engineFaultKind(error: unknown): EngineFaultKind | undefined {
  if (error === null || typeof error !== 'object' || error instanceof WorkerError) return undefined;
  const { statusCode, code, syscall, message = '' } = error as EngineError;
  if (statusCode === 404 && /no such container/i.test(message)) return 'container-vanished';
  if (statusCode === 409 && /removal .*in progress|marked for removal/i.test(message)) return 'container-vanished';
  if (statusCode !== undefined && statusCode >= 500) return 'engine-unavailable';
  if (isNetworkError(error) || (code === 'ENOENT' && syscall === 'connect') || /socket hang up/i.test(message)) return 'engine-unavailable';
  return undefined;
}

const DESCRIPTIONS: Record<EngineFaultKind, string> = {
  'container-vanished': 'the container was removed from outside while it ran',
  'engine-unavailable': 'the Docker engine did not answer (restarting or down)',
};

/** The error as an InfrastructureFault when it is one; anything else as it was. */
export function asEngineFault(error: unknown): unknown {
  const kind = engineFaultKind(error);
  return kind === undefined ? error : new InfrastructureFault(kind, `${DESCRIPTIONS[kind]}: ${(error as Error).message}`, { cause: error });
}

/**
 * The engine, with its failures told apart: a fault of the engine or of the host is an InfrastructureFault (ours,
 * retryable), never an error the job would put down to the submission. A run stopped by its own signal keeps the
 * abort's error.
 */
export class FaultClassifyingEngine implements ContainerEngine, ContainerSweep {
  constructor(private readonly engine: ContainerEngine & ContainerSweep) {}

  private classified<T>(call: Promise<T>, signal?: AbortSignal): Promise<T> {
    return call.catch((error: unknown) => {
      throw signal?.aborted === true ? error : asEngineFault(error);
    });
  }

  imageExists(tag: string): Promise<boolean> {
    return this.classified(this.engine.imageExists(tag));
  }
  buildImage(spec: ImageBuildSpec, onLog: (line: string) => void): Promise<void> {
    return this.classified(this.engine.buildImage(spec, onLog), spec.signal);
  }
  runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    return this.classified(this.engine.runContainer(spec, signal), signal);
  }
  removeContainers(labels: Readonly<Record<string, string>>): Promise<number> {
    return this.classified(this.engine.removeContainers(labels));
  }
  pruneImages(repository: string, keepBytes: number): Promise<string[]> {
    return this.classified(this.engine.pruneImages(repository, keepBytes));
  }
  listContainers(labels: Readonly<Record<string, string>>): Promise<ManagedContainer[]> {
    return this.classified(this.engine.listContainers(labels));
  }
  removeContainer(id: string): Promise<void> {
    return this.classified(this.engine.removeContainer(id));
  }
}
