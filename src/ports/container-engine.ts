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

/**
 * Where a run writes its results, kept in the engine instead of on the worker's disk: a tmpfs the engine itself holds
 * to `capBytes` and a fixed number of entries, whatever the depth of the folders written there, mounted nosuid,nodev,
 * noexec and owned by the run's user. When the run has ended, the regular files named in `collect` are copied out as
 * plain bytes into new files of the worker's in `hostDir` (mode 0644); nothing else of it leaves the engine: no other
 * file, no mode, owner or link. The run's image has the supervisor's interpreter at WRAPPER_PYTHON (domain/sandbox.ts),
 * as every image the worker builds does: what keeps the volume until then runs on it.
 */
export interface ResultsVolume {
  readonly containerPath: string;
  readonly capBytes: number;
  /** Names at the volume's top level. */
  readonly collect: readonly string[];
  readonly hostDir: string;
  /** The group of holders (ContainerEngine.openResultsHolders) that keeps the volume; without one, its own. */
  readonly holders?: string;
}

/**
 * Runs that share what keeps their results volumes in the engine (a job's files), so that its cost is not paid per
 * run. Each run still gets a fresh volume of its own, mounted in its container only.
 */
export interface ResultsHolders {
  /** What a run's ResultsVolume.holders names. */
  readonly id: string;
  /** Removes what no run of the group uses; what one still uses goes when that run is collected. */
  close(): Promise<void>;
}

/** What a collected name was in the results volume; only a `file` was copied out. */
export type CollectedEntry = 'file' | 'missing' | 'folder' | 'symbolic link' | 'FIFO' | 'device';

/**
 * A run started ahead of its turn. Its container starts at once, and its command warms up until it reads a line from
 * stdin (the wrapper's --go-on-stdin). `go` resolving writes that line, `go`; only from then on run the time limit and
 * the outcome's durationMs. `ended` is called as soon as the command has ended, before the results are collected and
 * the container removed, so that the next run may take its place.
 */
export interface RunTurn {
  readonly go: Promise<void>;
  /** The longest the command waits for its go; the holder of its results volume outlives that and the time limit. */
  readonly waitLimitMs: number;
  readonly ended: () => void;
}

export interface ContainerRunSpec {
  readonly image: string;
  readonly command: readonly string[];
  readonly mounts: readonly Mount[];
  readonly results?: ResultsVolume;
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
  /** Joins the job's internal network instead of none; its only way out is the proxy (operators/with-egress.ts). */
  readonly network?: RunNetwork;
  /**
   * For a run with no network: a file on the engine's host that the run sees as its /etc/hosts. The engine then
   * gives the run no network sandbox of its own at all (its network namespace is still the run's own, with a
   * loopback only), which spares a start the engine's network hook, and with it the hosts file the hook writes.
   */
  readonly hostsFile?: string;
  /** Started ahead of its turn; without one, the command starts its run at once and stdin is closed. */
  readonly turn?: RunTurn;
}

/**
 * A run's place on a job's internal network. Docker's resolver on it would still answer its members' names: the
 * caller mounts a resolv.conf of its own over /etc/resolv.conf, so that the run resolves nothing.
 */
export interface RunNetwork {
  readonly name: string;
  /** Given as HTTP_PROXY and HTTPS_PROXY (both spellings), the only route out. */
  readonly proxyUrl: string;
}

/** A network whose members reach each other and nothing else, not even the engine's host. */
export interface InternalNetwork {
  readonly name: string;
  /** Its members' addresses, as CIDR. */
  readonly subnet: string;
}

/**
 * A long-running helper container of a job (its proxy), hardened like a run: no capabilities, no new privileges,
 * read-only root with a small tmpfs at /tmp, its own limits. It carries the job's labels, so it goes with the job's
 * other containers.
 */
export interface ServiceSpec {
  readonly image: string;
  readonly mounts: readonly Mount[];
  readonly labels: Readonly<Record<string, string>>;
  readonly user: string;
  readonly memoryBytes: number;
  readonly nanoCpus: number;
  readonly pidsLimit: number;
  /** The network it starts on; more are joined with connectToNetwork. */
  readonly network: string;
  /** It is ready once this appears in its output; it failed if it ends first, or not within `readyTimeoutMs`. */
  readonly readyLine: string;
  readonly readyTimeoutMs: number;
}

export interface ContainerOutcome {
  /** null when the container was stopped by the worker (time limit or cancellation). */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly oomKilled: boolean;
  /** Stopped because its writable mounts held more than `resultsCapBytes`, or its results volume was full. */
  readonly resultsExceeded?: boolean;
  /** With a results volume: what each collected name was. */
  readonly collected?: Readonly<Record<string, CollectedEntry>>;
  readonly output: string;
  readonly outputTruncated: boolean;
  readonly durationMs: number;
}

/** What a run becomes when it is committed (ContainerEngine.runAndCommit). */
export interface CommitSpec {
  readonly tag: string;
  /** An image bigger than this is removed, and the run fails (op_2). */
  readonly maxSizeBytes: number;
}

export interface CommittedOutcome extends ContainerOutcome {
  /** The committed image's id: set when the run exited 0 and was committed. */
  readonly image?: string;
}

/** An image of the engine, as a cache of images sees it. */
export interface EngineImage {
  readonly id: string;
  /** Its tags in the repositories asked for. */
  readonly tags: readonly string[];
  readonly createdAt: number;
  /** With the layers of the images it is built on. */
  readonly sizeBytes: number;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ContainerEngine {
  imageExists(tag: string): Promise<boolean>;
  /** The image's id (`sha256:…`), or undefined when the engine has no such image. */
  imageId(reference: string): Promise<string | undefined>;
  /** Gives an image one more tag (`repository:tag`), moved from any image that had it. */
  tagImage(image: string, reference: string): Promise<void>;
  /** Pulls `repository:tag` from its registry; rejects with the engine's reason when it cannot (no registry, no image). */
  pullImage(reference: string): Promise<void>;
  /** Builds with no network, within time and size limits; rejects with the build's own error text when a step fails. */
  buildImage(spec: ImageBuildSpec, onLog: (line: string) => void): Promise<void>;
  /** A group for runs' results volumes, whose containers and volumes carry these labels. */
  openResultsHolders(labels: Readonly<Record<string, string>>): ResultsHolders;
  /** Runs to completion or time limit; the container is always removed before this settles, also on abort. */
  runContainer(spec: ContainerRunSpec, signal: AbortSignal): Promise<ContainerOutcome>;
  /** Force-removes containers carrying all these labels, and then their results volumes; returns how many containers. */
  removeContainers(labels: Readonly<Record<string, string>>): Promise<number>;
  /**
   * Runs like runContainer but with a writable root, as `spec.user`: when the run exits 0, what it wrote becomes an
   * image on `spec.image`, tagged `commit.tag`, that starts its containers as `spec.image` does and carries the run's
   * labels. Its container is always removed before this settles.
   */
  runAndCommit(spec: ContainerRunSpec, commit: CommitSpec, signal: AbortSignal): Promise<CommittedOutcome>;
  /** The images tagged in any of these repositories. */
  listImages(repositories: readonly string[]): Promise<EngineImage[]>;
  /**
   * Removes an image by id, with all its tags; never forced: false when a container uses it, an image is built on it,
   * or it is gone already.
   */
  removeImage(id: string): Promise<boolean>;
  /** An internal network with these labels: no route out, and no address of the engine's host on it. */
  createInternalNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<InternalNetwork>;
  /** Joins a container to a network; resolves its address there. */
  connectToNetwork(container: string, network: string): Promise<string>;
  /** Removes networks carrying all these labels (their containers must be gone); returns how many. */
  removeNetworks(labels: Readonly<Record<string, string>>): Promise<number>;
  /** Starts a service and resolves its container id once it is ready; a service that fails to start is removed. */
  startService(spec: ServiceSpec): Promise<string>;
  /** What a service wrote so far: its last `lines` lines of stdout and of stderr. */
  serviceOutput(container: string, lines: number): Promise<{ readonly stdout: string; readonly stderr: string }>;
  /** The addresses by which containers could reach the engine's host: the gateways of its networks, its own interfaces. */
  engineAddresses(): Promise<string[]>;
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
