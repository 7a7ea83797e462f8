import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WorkerError } from '../../domain/errors.js';
import type { ContainerEngine } from '../../ports/container-engine.js';
import { basePythons } from '../python-versions.js';

const BASE_IMAGE_SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../container/base/build-base-image.sh',
);

/** `base`: python:<v>-slim, what submissions run on. `builder`: the same Python with a C toolchain, for sources. */
type LocalImage = 'base' | 'builder';

const LOCAL_TAGS: Record<LocalImage, (version: string) => string> = {
  base: (version) => `python:${version}-slim`,
  builder: (version) => `pvhub-sdist-builder:${version}`,
};

/** Makes the image from Debian (container/base/build-base-image.sh), for the versions its table lists; else rejects. */
async function buildFromDebian(version: string, kind: LocalImage): Promise<string> {
  try {
    await promisify(execFile)('bash', [BASE_IMAGE_SCRIPT, version, kind], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    throw new Error(((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').pop(), {
      cause: error,
    });
  }
  return LOCAL_TAGS[kind](version);
}

/**
 * The image submissions of this Python run on: `<repository>:<v>-slim` (the engine's, or pulled from its registry:
 * a configured mirror wins over an image made here), else `python:<v>-slim` as the engine has it or as Debian makes
 * it. Where none of these works the job cannot run at all: wr_500, saying how to provide the image.
 */
export async function baseImage(engine: ContainerEngine, repository: string, version: string): Promise<string> {
  const registry = `${repository}:${version}-slim`;
  const local = LOCAL_TAGS.base(version);
  if (await engine.imageExists(registry)) return registry;
  const pullFailure = await engine.pullImage(registry).then(
    () => undefined,
    (error: unknown) => (error as Error).message.trim(),
  );
  if (pullFailure === undefined) return registry;
  if (registry !== local && (await engine.imageExists(local))) return local;
  const unpulled = `${registry} could not be pulled (${pullFailure})`;
  if (basePythons()[version] !== undefined) {
    return buildFromDebian(version, 'base').catch((error: unknown) => {
      throw new WorkerError(
        'wr_500',
        `python ${version} cannot be provided on this worker: ${unpulled}, and building it from Debian failed: ${(error as Error).message}`,
        { cause: error },
      );
    });
  }
  throw new WorkerError(
    'wr_500',
    `python ${version} cannot be provided on this worker: ${unpulled}, and only ${Object.keys(basePythons()).join(', ')} can be ` +
      `built from Debian. Provide it on the engine's host (docker pull ${local}, or docker load of a saved image), or set ` +
      `PVHUB_BASE_IMAGE_REPOSITORY to a registry that has ${version}-slim`,
  );
}

/** The source-build sandbox's image of this Python, built from Debian the first time; rejects wr_500 when it cannot. */
export async function builderImage(engine: ContainerEngine, version: string): Promise<string> {
  const tag = LOCAL_TAGS.builder(version);
  if (await engine.imageExists(tag)) return tag;
  return buildFromDebian(version, 'builder').catch((error: unknown) => {
    throw new WorkerError(
      'wr_500',
      `python ${version} cannot build source distributions on this worker: ${(error as Error).message}`,
      { cause: error },
    );
  });
}
