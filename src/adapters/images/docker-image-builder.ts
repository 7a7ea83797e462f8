import { type CachedImage, imagesToPrune } from '../../domain/image-cache.js';
import type { ResourceLimits } from '../../domain/limits.js';
import { OWNER_DIR_LABEL, OWNER_LABEL } from '../../domain/ownership.js';
import type { ContainerEngine } from '../../ports/container-engine.js';
import type { ImageBuilder, SubmissionImage, SubmissionImageRequest } from '../../ports/image-builder.js';
import type { Logger } from 'pino';
import { baseImage } from './base-images.js';
import type { BuiltWheelCache } from './built-wheel-cache.js';
import {
  prepareBuildContext,
  readRequirements,
  SUBMISSION_IMAGE_REPOSITORY,
  submissionImageTag,
  submissionWarnings,
} from './build-context.js';
import { DEPENDENCIES_IMAGE_LABEL, DEPENDENCIES_IMAGE_REPOSITORY, dependenciesImage } from './dependencies-image.js';
import { ensureReportImage } from './report-image.js';
import { ensureRuntimeImage } from './runtime-image.js';
import { sandboxedSourceBuild } from './source-build.js';

export interface DockerImageBuilderOptions {
  readonly engine: ContainerEngine;
  /** The image size and build time limits, and the source-build sandbox's container limits. */
  readonly limits: ResourceLimits;
  /** The host Python whose pip resolves wheels (config PVHUB_HOST_PYTHON); no package code runs in it. */
  readonly hostPython: string;
  /**
   * Where a base image the engine lacks is pulled from, as `<repository>:<python>-slim` (config
   * PVHUB_BASE_IMAGE_REPOSITORY: `python`, Docker Hub's, or a mirror such as an ECR repository).
   */
  readonly baseImageRepository: string;
  /** Wheels built from source before, taken instead of building them again; without it each build builds them. */
  readonly wheelCache?: BuiltWheelCache;
}

/**
 * The image outlives the job (a cache shared by resubmissions of the same content) and its worker, so it does not
 * carry the job's `pvhub.submission` label, which would make it a leftover of that job, nor its owner's; it names
 * the submission it was built for.
 */
function imageLabels(jobLabels: Readonly<Record<string, string>>): Record<string, string> {
  const ofTheJob = new Set(['pvhub.submission', OWNER_LABEL, OWNER_DIR_LABEL]);
  const rest = Object.fromEntries(Object.entries(jobLabels).filter(([key]) => !ofTheJob.has(key)));
  const submission = jobLabels['pvhub.submission'];
  return submission === undefined ? rest : { ...rest, 'pvhub.built-for-submission': submission };
}

/**
 * Images on a Docker engine: base images from Debian, wheels resolved by host uv and pip, sources built in a sandbox,
 * the dependencies of a requirement set installed once in an image of their own that submissions are built on.
 */
export class DockerImageBuilder implements ImageBuilder {
  constructor(private readonly options: DockerImageBuilderOptions) {}

  /**
   * Builds (or reuses) the submission's image on the dependencies image of its requirement set (made once per set:
   * wheels resolved outside, a requirement with none built from source in a sandbox, installed with no network);
   * its own build copies the wrapper and the code only. An image over the size limit is removed and refused.
   */
  async submissionImage(request: SubmissionImageRequest): Promise<SubmissionImage> {
    const { engine, limits, hostPython } = this.options;
    const { submissionDir, pythonVersion, log, signal, workDir } = request;
    // The job's build step logs them: the participant reads them in the job log and the CLI.
    const warnings = await submissionWarnings(submissionDir);
    const base = await baseImage(engine, this.options.baseImageRepository, pythonVersion);
    // The tag is known from the content alone, so a cached image skips the wheel resolution (network, seconds).
    const cachedTag = await submissionImageTag({ submissionDir, pythonVersion, baseImage: base });
    if (await engine.imageExists(cachedTag)) {
      log.info({ image: cachedTag }, 'image reused from cache');
      return { tag: cachedTag, cached: true, warnings };
    }
    request.onBuildStart?.();
    const runtime = await ensureRuntimeImage({
      engine,
      baseImage: base,
      workDir,
      timeoutMs: limits.buildTimeLimitMs,
      maxSizeBytes: limits.imageSizeLimitBytes,
      signal,
    });
    const dependencies = await dependenciesImage({
      engine,
      limits,
      runtime,
      requirements: await readRequirements(submissionDir),
      resolution: {
        pythonVersion,
        workDir,
        hostPython,
        onLog: (line) => log.debug(line),
        buildFromSource: sandboxedSourceBuild({ engine, limits, pythonVersion, labels: request.labels }),
        ...(this.options.wheelCache === undefined ? {} : { wheelCache: this.options.wheelCache }),
        signal,
      },
      log,
    });
    const { contextDir, tag } = await prepareBuildContext({
      submissionDir,
      pythonVersion,
      baseImage: base,
      dependenciesImage: dependencies.id,
      workDir,
    });
    const started = Date.now();
    await engine.buildImage(
      {
        tag,
        contextDir,
        labels: { ...imageLabels(request.labels), [DEPENDENCIES_IMAGE_LABEL]: dependencies.id },
        timeoutMs: limits.buildTimeLimitMs,
        maxSizeBytes: limits.imageSizeLimitBytes,
        signal,
      },
      (line) => log.debug({ build: line.trimEnd() }, 'build'),
    );
    log.info({ image: tag, seconds: (Date.now() - started) / 1000 }, 'image built');
    const { id, reused, resolved } = dependencies;
    return { tag, cached: false, warnings, dependencies: { image: id, reused, resolved } };
  }

  reportImage(log: Logger, signal: AbortSignal): Promise<string> {
    const { engine, limits, hostPython, baseImageRepository } = this.options;
    return ensureReportImage({
      engine,
      buildTimeLimitMs: limits.buildTimeLimitMs,
      hostPython,
      baseImageRepository,
      log,
      signal,
    });
  }

  /** Submission images go before the dependencies images they are built on; one a container uses stays. */
  async pruneSubmissionImages(keepBytes: number): Promise<string[]> {
    const { engine } = this.options;
    const images = await engine.listImages([SUBMISSION_IMAGE_REPOSITORY, DEPENDENCIES_IMAGE_REPOSITORY]);
    const cached = images.map(({ id, createdAt, sizeBytes, labels }): CachedImage => {
      const builtOn = labels[DEPENDENCIES_IMAGE_LABEL];
      return builtOn === undefined ? { id, createdAt, sizeBytes } : { id, createdAt, sizeBytes, builtOn };
    });
    const removed: string[] = [];
    for (const id of imagesToPrune(cached, keepBytes))
      if (await engine.removeImage(id)) removed.push(...(images.find((image) => image.id === id)?.tags ?? []));
    return removed;
  }
}
