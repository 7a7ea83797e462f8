import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { prepareBuildContext, submissionImageTag } from '../adapters/build-context.js';
import { WorkerError } from '../domain/errors.js';
import type { ContainerEngine } from '../ports/container-engine.js';
import type { HubApi } from '../ports/hub-api.js';
import { type BuiltWorkspace, type Workspace, workspacePaths } from './workspace.js';

const BASE_IMAGE_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../container/base/build-base-image.sh');

export interface BuildDeps {
  readonly engine: ContainerEngine;
  readonly hub: HubApi;
  readonly buildTimeLimitMs: number;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Provides python:<version>-slim when the engine lacks it. No registry is reachable, so the image is made from
 * Debian by container/base/build-base-image.sh; a version it cannot make is a wr_500 for this submission.
 */
async function ensureBaseImage(engine: ContainerEngine, version: string): Promise<string> {
  const tag = `python:${version}-slim`;
  if (await engine.imageExists(tag)) return tag;
  try {
    await promisify(execFile)('bash', [BASE_IMAGE_SCRIPT, version], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').pop();
    throw new WorkerError('wr_500', `python ${version} cannot be provided on this worker: ${detail}`, { cause: error });
  }
  return tag;
}

/**
 * Builds (or reuses) the submission's image: the Hub must offer the python version, dependencies are resolved to
 * wheels outside the build, and the build itself has no network. Returns the workspace with its image tag.
 */
export async function buildSubmissionImage(ws: Workspace, deps: BuildDeps): Promise<BuiltWorkspace & { cached: boolean }> {
  const version = ws.job.pythonVersion;
  const offered = await deps.hub.pythonVersions();
  if (!offered.includes(version)) {
    throw new WorkerError('wr_500', `python ${version} is not one of the Hub's versions (${offered.join(', ')})`);
  }
  const base = await ensureBaseImage(deps.engine, version);
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
    onLog: (line) => log.debug(line),
  });
  const started = Date.now();
  await deps.engine.buildImage(
    { tag, contextDir, labels: { ...deps.labels }, timeoutMs: deps.buildTimeLimitMs },
    (line) => log.debug({ build: line.trimEnd() }, 'build'),
  );
  log.info({ image: tag, seconds: (Date.now() - started) / 1000 }, 'image built');
  return { ...ws, image: tag, cached: false };
}
