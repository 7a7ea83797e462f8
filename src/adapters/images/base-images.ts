import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WorkerError } from '../../domain/errors.js';
import type { ContainerEngine } from '../../ports/container-engine.js';

const BASE_IMAGE_SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../container/base/build-base-image.sh',
);

/** `base`: python:<v>-slim, what submissions run on. `builder`: the same Python with a C toolchain, for sources. */
export type LocalImage = 'base' | 'builder';

const TAGS: Record<LocalImage, (version: string) => string> = {
  base: (version) => `python:${version}-slim`,
  builder: (version) => `pvhub-sdist-builder:${version}`,
};

/**
 * Provides the image when the engine lacks it. No registry is reachable, so it is made from Debian by
 * container/base/build-base-image.sh; a version it cannot make is a wr_500 for this submission.
 */
export async function ensureLocalImage(engine: ContainerEngine, version: string, kind: LocalImage): Promise<string> {
  const tag = TAGS[kind](version);
  if (await engine.imageExists(tag)) return tag;
  try {
    await promisify(execFile)('bash', [BASE_IMAGE_SCRIPT, version, kind], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').pop();
    throw new WorkerError('wr_500', `python ${version} cannot be provided on this worker: ${detail}`, { cause: error });
  }
  return tag;
}
