import { prepareBuildContext, submissionImageTag } from '../adapters/build-context.js';
import type { ResourceLimits } from '../domain/limits.js';
import type { ContainerEngine } from '../ports/container-engine.js';
import { ensureLocalImage } from './base-images.js';
import { sandboxedSourceBuild } from './build-sdist.js';
import { type BuiltWorkspace, type Workspace, workspacePaths } from './workspace.js';

/**
 * The image outlives the job (a cache shared by resubmissions of the same content), so it does not carry the job's
 * `pvhub.submission` label, which would make it a leftover of that job; it names the submission it was built for.
 */
function imageLabels(jobLabels: Readonly<Record<string, string>>): Record<string, string> {
  const { 'pvhub.submission': submission, ...rest } = jobLabels;
  return submission === undefined ? rest : { ...rest, 'pvhub.built-for-submission': submission };
}

export interface BuildDeps {
  readonly engine: ContainerEngine;
  readonly limits: ResourceLimits;
  /** Labels of the job's containers (source builds), removed with the job. */
  readonly jobLabels: Readonly<Record<string, string>>;
  readonly hostPython: string;
}

/**
 * Builds (or reuses) the submission's image: dependencies are resolved to
 * wheels outside the build (a requirement with none is built from source in a sandbox), the build itself has no
 * network, and an image over the size limit is removed and refused. Returns the workspace with its image tag.
 */
export async function buildSubmissionImage(ws: Workspace, deps: BuildDeps, signal: AbortSignal): Promise<BuiltWorkspace & { cached: boolean }> {
  const version = ws.job.pythonVersion;
  const base = await ensureLocalImage(deps.engine, version, 'base');
  const log = ws.log.child({ stage: 'build' });
  // The tag is known from the content alone, so a cached image skips the wheel resolution (network, seconds).
  const cachedTag = await submissionImageTag({ submissionDir: ws.submissionDir, pythonVersion: version, baseImage: base });
  if (await deps.engine.imageExists(cachedTag)) {
    log.info({ image: cachedTag }, 'image reused from cache');
    return { ...ws, image: cachedTag, cached: true };
  }
  const { contextDir, tag } = await prepareBuildContext({
    submissionDir: ws.submissionDir,
    pythonVersion: version,
    baseImage: base,
    workDir: workspacePaths(ws.dir).build,
    hostPython: deps.hostPython,
    onLog: (line) => log.debug(line),
    buildFromSource: sandboxedSourceBuild({ engine: deps.engine, limits: deps.limits, pythonVersion: version, labels: deps.jobLabels }),
    maxWheelhouseBytes: deps.limits.imageSizeLimitBytes,
    signal,
  });
  const started = Date.now();
  await deps.engine.buildImage(
    { tag, contextDir, labels: imageLabels(deps.jobLabels), timeoutMs: deps.limits.buildTimeLimitMs, maxSizeBytes: deps.limits.imageSizeLimitBytes, signal },
    (line) => log.debug({ build: line.trimEnd() }, 'build'),
  );
  log.info({ image: tag, seconds: (Date.now() - started) / 1000 }, 'image built');
  return { ...ws, image: tag, cached: false };
}
