import { chmod, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { ResourceLimits } from '../../domain/limits.js';
import { WorkerError } from '../../domain/errors.js';
import { sandboxLimits } from '../../domain/sandbox.js';
import type { ContainerEngine } from '../../ports/container-engine.js';
import { ensureLocalImage } from './base-images.js';

/** A source distribution to turn into a wheel, in a sandbox: nothing of it runs on this host. */
export interface SourceBuild {
  /** The requirement as pip named it (e.g. "ruptures==1.1.8"). */
  readonly requirement: string;
  /** The .tar.gz or .zip, alone in its folder. */
  readonly archive: string;
  /** Wheels of its build requirements, for the target python: the sandbox has no index. */
  readonly buildWheelhouse: string;
  /** An empty folder where the wheel must be written (and nothing else: it is checked). */
  readonly outDir: string;
  readonly signal: AbortSignal;
}

/** Builds one source distribution into a wheel in its outDir, with no network, or throws op_2. */
export type SourceBuilder = (build: SourceBuild) => Promise<void>;

export interface SourceBuildDeps {
  readonly engine: ContainerEngine;
  readonly limits: ResourceLimits;
  readonly pythonVersion: string;
  /** Labels of the job, so a cancelled build's container is found and removed with the job's runs. */
  readonly labels: Readonly<Record<string, string>>;
}

/** Compilers and pip's build environment live in /tmp; compiled build requirements are loaded from there. */
const BUILD_TMP_BYTES = 2 * 1024 ** 3;
const OUTPUT_TAIL_CHARS = 1500;

/** pip in the sandbox: the sdist's build requirements from the mounted wheels only, no index, no dependencies. */
export function sourceBuildCommand(archiveName: string): string[] {
  return [
    'python',
    '-m',
    'pip',
    'wheel',
    '--no-deps',
    '--no-index',
    '--no-cache-dir',
    '--disable-pip-version-check',
    '--find-links',
    '/build-wheels',
    '--wheel-dir',
    '/results',
    `/sdist/${archiveName}`,
  ];
}

/**
 * Builds a source distribution into a wheel in a container as hardened as a submission's run (no network, no
 * capabilities, read-only root, unprivileged user, memory, CPU, pid and time limits) from the builder image. Its
 * build script is the requirement author's code: it runs there and nowhere else.
 */
export function sandboxedSourceBuild(deps: SourceBuildDeps): SourceBuilder {
  return async (build) => {
    const image = await ensureLocalImage(deps.engine, deps.pythonVersion, 'builder');
    // The runner uid owns nothing on the host: it reads the inputs and writes the wheel whatever the umask.
    await chmod(path.dirname(build.archive), 0o755);
    await chmod(build.archive, 0o644);
    await chmod(build.buildWheelhouse, 0o755);
    for (const wheel of await readdir(build.buildWheelhouse))
      await chmod(path.join(build.buildWheelhouse, wheel), 0o644);
    await chmod(build.outDir, 0o777);
    const outcome = await deps.engine.runContainer(
      {
        image,
        command: sourceBuildCommand(path.basename(build.archive)),
        mounts: [
          { hostPath: path.dirname(build.archive), containerPath: '/sdist', readOnly: true },
          { hostPath: build.buildWheelhouse, containerPath: '/build-wheels', readOnly: true },
          { hostPath: build.outDir, containerPath: '/results', readOnly: false },
        ],
        ...sandboxLimits(deps.limits),
        timeoutMs: deps.limits.buildTimeLimitMs,
        labels: { ...deps.labels, 'pvhub.source-build': path.basename(build.archive) },
        tmp: { sizeBytes: BUILD_TMP_BYTES, exec: true },
      },
      build.signal,
    );
    const tail = outcome.output
      .trim()
      .slice(-OUTPUT_TAIL_CHARS)
      .replace(/\s*\n\s*/g, ' | ');
    const buildFailure = (why: string) =>
      new WorkerError('op_2', `requirement ${build.requirement} has no wheel, and its source distribution ${why}`);
    if (outcome.timedOut) throw buildFailure(`did not build within ${deps.limits.buildTimeLimitMs / 1000} s`);
    if (outcome.oomKilled)
      throw buildFailure(`ran out of memory while building (limit ${deps.limits.containerMemoryBytes} bytes)`);
    if (outcome.resultsExceeded) throw buildFailure(`wrote more than ${deps.limits.resultsCapBytes} bytes`);
    if (outcome.exitCode !== 0) throw buildFailure(`failed to build (exit ${outcome.exitCode}): ${tail}`);
  };
}
