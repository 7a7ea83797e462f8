import { WorkerError } from '../domain/errors.js';
import { type FaultKind, InfrastructureFault } from '../domain/infrastructure-fault.js';
import type { ManagedContainer } from '../domain/ownership.js';
import { isNetworkError } from '../domain/retry.js';
import type {
  CommitSpec,
  CommittedOutcome,
  ContainerEngine,
  EngineImage,
  ContainerOutcome,
  ContainerRunSpec,
  ContainerSweep,
  ImageBuildSpec,
  InternalNetwork,
  ResultsHolders,
  ServiceSpec,
} from '../ports/container-engine.js';

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
  if (isNetworkError(error) || (code === 'ENOENT' && syscall === 'connect') || /socket hang up/i.test(message))
    return 'engine-unavailable';
  return undefined;
}

const DESCRIPTIONS: Record<EngineFaultKind, string> = {
  'container-vanished': 'the container was removed from outside while it ran',
  'engine-unavailable': 'the Docker engine did not answer (restarting or down)',
};

/** The error as an InfrastructureFault when it is one; anything else as it was. */
export function asEngineFault(error: unknown): unknown {
  const kind = engineFaultKind(error);
  return kind === undefined
    ? error
    : new InfrastructureFault(kind, `${DESCRIPTIONS[kind]}: ${(error as Error).message}`, { cause: error });
}

/** How long the engine has to answer a request, or to end a run past its time limit or its stop. */
const ANSWER_MS = 60_000;

/**
 * The engine, with its failures told apart: a fault of the engine or of the host is an InfrastructureFault (ours,
 * retryable), never an error the job would put down to the submission. An engine that stops answering is one too:
 * a request unanswered for `answerMs`, a run still going `answerMs` past its time limit (the engine was told to kill
 * it then) or past its stop. A run stopped by its own signal keeps the abort's error.
 */
export class FaultClassifyingEngine implements ContainerEngine, ContainerSweep {
  constructor(
    private readonly engine: ContainerEngine & ContainerSweep,
    private readonly answerMs = ANSWER_MS,
  ) {}

  private classified<T>(
    call: Promise<T>,
    limits: { readonly withinMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<T> {
    const { withinMs = this.answerMs, signal } = limits;
    return new Promise<T>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      let settled = false;
      const settle = (end: () => void) => {
        if (settled) return;
        settled = true;
        for (const timer of timers) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        end();
      };
      const unansweredAfter = (ms: number) => {
        const hung = () =>
          new InfrastructureFault('engine-unavailable', `the Docker engine did not answer within ${ms / 1000} s`);
        timers.push(setTimeout(() => settle(() => reject(hung())), ms));
      };
      const onAbort = () => unansweredAfter(this.answerMs);
      unansweredAfter(withinMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      call.then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(signal?.aborted === true ? error : asEngineFault(error))),
      );
    });
  }

  imageExists(tag: string): Promise<boolean> {
    return this.classified(this.engine.imageExists(tag));
  }
  /** A pull may take long on a slow registry: only its failures are told apart. */
  pullImage(reference: string): Promise<void> {
    return this.engine.pullImage(reference).catch((error: unknown) => {
      throw asEngineFault(error);
    });
  }
  buildImage(spec: ImageBuildSpec, onLog: (line: string) => void): Promise<void> {
    return this.classified(this.engine.buildImage(spec, onLog), {
      withinMs: spec.timeoutMs + this.answerMs,
      ...(spec.signal ? { signal: spec.signal } : {}),
    });
  }
  openResultsHolders(labels: Readonly<Record<string, string>>): ResultsHolders {
    const holders = this.engine.openResultsHolders(labels);
    return { id: holders.id, close: () => this.classified(holders.close()) };
  }
  runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome> {
    // A container started ahead of its turn may wait that long for its go before its time limit starts.
    return this.classified(this.engine.runContainer(spec, signal), {
      withinMs: (spec.turn?.waitLimitMs ?? 0) + spec.timeoutMs + this.answerMs,
      signal,
    });
  }
  removeContainers(labels: Readonly<Record<string, string>>): Promise<number> {
    return this.classified(this.engine.removeContainers(labels));
  }
  imageId(reference: string): Promise<string | undefined> {
    return this.classified(this.engine.imageId(reference));
  }
  tagImage(image: string, reference: string): Promise<void> {
    return this.classified(this.engine.tagImage(image, reference));
  }
  /** The commit after the run may take long on a big install: its whole time is the run's limit and a margin. */
  runAndCommit(spec: ContainerRunSpec, commit: CommitSpec, signal: AbortSignal): Promise<CommittedOutcome> {
    return this.classified(this.engine.runAndCommit(spec, commit, signal), {
      withinMs: spec.timeoutMs + 2 * this.answerMs,
      signal,
    });
  }
  listImages(repositories: readonly string[]): Promise<EngineImage[]> {
    return this.classified(this.engine.listImages(repositories));
  }
  /** Removing an image's layers may take long: only its failures are told apart. */
  removeImage(id: string): Promise<boolean> {
    return this.engine.removeImage(id).catch((error: unknown) => {
      throw asEngineFault(error);
    });
  }
  listContainers(labels: Readonly<Record<string, string>>): Promise<ManagedContainer[]> {
    return this.classified(this.engine.listContainers(labels));
  }
  removeContainer(id: string): Promise<void> {
    return this.classified(this.engine.removeContainer(id));
  }
  createInternalNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<InternalNetwork> {
    return this.classified(this.engine.createInternalNetwork(name, labels));
  }
  connectToNetwork(container: string, network: string): Promise<string> {
    return this.classified(this.engine.connectToNetwork(container, network));
  }
  removeNetworks(labels: Readonly<Record<string, string>>): Promise<number> {
    return this.classified(this.engine.removeNetworks(labels));
  }
  startService(spec: ServiceSpec): Promise<string> {
    return this.classified(this.engine.startService(spec));
  }
  serviceOutput(container: string, lines: number): Promise<{ readonly stdout: string; readonly stderr: string }> {
    return this.classified(this.engine.serviceOutput(container, lines));
  }
  engineAddresses(): Promise<string[]> {
    return this.classified(this.engine.engineAddresses());
  }
}
