/** The Docker engine as the pipeline needs it. Implemented by adapters/docker-engine.ts. */

import type { ManagedContainer } from '../domain/ownership.js';

export interface ImageBuildSpec {
  /** Tag to give the image; also its cache key (same tag ⇒ reuse). */
  readonly tag: string;
  /** Directory that is the whole build context (Dockerfile at its root). */
  readonly contextDir: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** An image bigger than this is removed, and the build fails (op_2). */
  readonly maxSizeBytes: number;
  /** Aborting it stops the build (the job cancelled or out of time). */
  readonly signal?: AbortSignal;
}

export interface Mount {
  readonly hostPath: string;
  readonly containerPath: string;
  readonly readOnly: boolean;
}

export interface ContainerRunSpec {
  readonly image: string;
  readonly command: readonly string[];
  readonly mounts: readonly Mount[];
  readonly memoryBytes: number;
  readonly nanoCpus: number;
  readonly pidsLimit: number;
  readonly timeoutMs: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Bytes of stdout+stderr kept; the rest is counted and dropped. */
  readonly outputCapBytes: number;
  /**
   * Bytes the container may write to its writable mounts, all files together; over it the container is stopped
   * (`resultsExceeded`). Also the largest single file it may write. Default: 1 GiB per file, no total.
   */
  readonly resultsCapBytes?: number;
  readonly user: string;
  /** The tmpfs at /tmp. Default: 256 MiB, noexec (a source build needs more, and loads compiled code from it). */
  readonly tmp?: { readonly sizeBytes: number; readonly exec: boolean };
}

export interface ContainerOutcome {
  /** null when the container was stopped by the worker (time limit or cancellation). */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly oomKilled: boolean;
  /** Stopped because its writable mounts held more than `resultsCapBytes`. */
  readonly resultsExceeded?: boolean;
  readonly output: string;
  readonly outputTruncated: boolean;
  readonly durationMs: number;
}

export interface ContainerEngine {
  imageExists(tag: string): Promise<boolean>;
  /** Builds with no network, within time and size limits; rejects with the build's own error text when a step fails. */
  buildImage(spec: ImageBuildSpec, onLog: (line: string) => void): Promise<void>;
  /** Runs to completion or time limit; the container is always removed before this settles, also on abort. */
  runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome>;
  /** Force-removes containers carrying all these labels; returns how many. */
  removeContainers(labels: Readonly<Record<string, string>>): Promise<number>;
  /**
   * Removes the oldest images whose tag starts with `repository:` until the rest take at most `keepBytes`; an image
   * a container still uses is kept. Returns the tags removed.
   */
  pruneImages(repository: string, keepBytes: number): Promise<string[]>;
}

/** What the clean-up after dead workers needs of the engine: every managed container, whoever owns it. */
export interface ContainerSweep {
  /** Containers, running or not, carrying all these labels. */
  listContainers(labels: Readonly<Record<string, string>>): Promise<ManagedContainer[]>;
  /** Force-removes one container; one already gone is no error. */
  removeContainer(id: string): Promise<void>;
  /** Force-removes containers carrying all these labels; returns how many. */
  removeContainers(labels: Readonly<Record<string, string>>): Promise<number>;
}
