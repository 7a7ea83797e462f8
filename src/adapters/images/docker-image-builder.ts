import type { ResourceLimits } from '../../domain/limits.js';
import type { ContainerEngine } from '../../ports/container-engine.js';
import type { ImageBuilder, SubmissionImage, SubmissionImageRequest } from '../../ports/image-builder.js';
import { ensureLocalImage } from '../../pipeline/base-images.js';
import { sandboxedSourceBuild } from '../../pipeline/build-sdist.js';
import { ensureReportImage } from '../../sinks/report-image.js';
import { prepareBuildContext, SUBMISSION_IMAGE_REPOSITORY, submissionImageTag } from '../build-context.js';

export interface DockerImageBuilderOptions {
  readonly engine: ContainerEngine;
  readonly limits: ResourceLimits;
  readonly hostPython: string;
}

/**
 * The image outlives the job (a cache shared by resubmissions of the same content), so it does not carry the job's
 * `pvhub.submission` label, which would make it a leftover of that job; it names the submission it was built for.
 */
function imageLabels(jobLabels: Readonly<Record<string, string>>): Record<string, string> {
  const { 'pvhub.submission': submission, ...rest } = jobLabels;
  return submission === undefined ? rest : { ...rest, 'pvhub.built-for-submission': submission };
}

export class DockerImageBuilder implements ImageBuilder {
  constructor(private readonly options: DockerImageBuilderOptions) {}

  async submissionImage(request: SubmissionImageRequest): Promise<SubmissionImage> {
    const { engine, limits, hostPython } = this.options;
    const { log, pythonVersion: version, signal } = request;
    const base = await ensureLocalImage(engine, version, 'base');
    // The tag is known from the content alone, so a cached image skips the wheel resolution (network, seconds).
    const cachedTag = await submissionImageTag({ submissionDir: request.submissionDir, pythonVersion: version, baseImage: base });
    if (await engine.imageExists(cachedTag)) {
      log.info({ image: cachedTag }, 'image reused from cache');
      return { tag: cachedTag, cached: true, warnings: [] };
    }
    const { contextDir, tag } = await prepareBuildContext({
      submissionDir: request.submissionDir,
      pythonVersion: version,
      baseImage: base,
      workDir: request.workDir,
      hostPython,
      onLog: (line) => log.debug(line),
      buildFromSource: sandboxedSourceBuild({ engine, limits, pythonVersion: version, labels: request.labels }),
      maxWheelhouseBytes: limits.imageSizeLimitBytes,
      signal,
    });
    const started = Date.now();
    await engine.buildImage(
      { tag, contextDir, labels: imageLabels(request.labels), timeoutMs: limits.buildTimeLimitMs, maxSizeBytes: limits.imageSizeLimitBytes, signal },
      (line) => log.debug({ build: line.trimEnd() }, 'build'),
    );
    log.info({ image: tag, seconds: (Date.now() - started) / 1000 }, 'image built');
    return { tag, cached: false, warnings: [] };
  }

  reportImage(log: Parameters<ImageBuilder['reportImage']>[0]): Promise<string> {
    const { engine, limits, hostPython } = this.options;
    return ensureReportImage({ engine, buildTimeLimitMs: limits.buildTimeLimitMs, hostPython, log });
  }

  pruneSubmissionImages(keepBytes: number): Promise<string[]> {
    return this.options.engine.pruneImages(SUBMISSION_IMAGE_REPOSITORY, keepBytes);
  }
}
