import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerError } from '../../domain/errors.js';
import type { ContainerEngine } from '../../ports/container-engine.js';
import { dockerfileFor, hashField } from './recipes.js';

/** The recipe of what every submission image of a base shares: the runner user and the supervisor's interpreter. */
export const RUNTIME_RECIPE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../container/runtime/Dockerfile',
);
const RUNTIME_IMAGE_REPOSITORY = 'pvhub-runtime';

export interface RuntimeImage {
  readonly tag: string;
  readonly id: string;
}

export interface RuntimeImageOptions {
  readonly engine: ContainerEngine;
  /** The base image's name; its id, with the recipe, names the runtime image. */
  readonly baseImage: string;
  /** A scratch folder for the one-file context. */
  readonly workDir: string;
  readonly timeoutMs: number;
  readonly maxSizeBytes: number;
  readonly signal: AbortSignal;
}

/**
 * The runtime image of a base (container/runtime/Dockerfile), built once with no network from a context of the
 * recipe alone, then found by its tag: the base image's id and the recipe.
 */
export async function ensureRuntimeImage(options: RuntimeImageOptions): Promise<RuntimeImage> {
  const { engine, baseImage } = options;
  const baseId = await engine.imageId(baseImage);
  if (baseId === undefined) throw new WorkerError('wr_500', `the base image ${baseImage} is not on the engine`);
  const recipe = dockerfileFor(await readFile(RUNTIME_RECIPE, 'utf8'), baseImage);
  const hash = createHash('sha256');
  hashField(hash, 'base', baseId);
  hashField(hash, 'recipe', recipe);
  const tag = `${RUNTIME_IMAGE_REPOSITORY}:${hash.digest('hex').slice(0, 32)}`;
  const existing = await engine.imageId(tag);
  if (existing !== undefined) return { tag, id: existing };
  const contextDir = path.join(options.workDir, 'runtime-context');
  await mkdir(contextDir, { recursive: true });
  try {
    await writeFile(path.join(contextDir, 'Dockerfile'), recipe);
    await engine.buildImage(
      {
        tag,
        contextDir,
        labels: { 'pvhub.managed': 'true' },
        timeoutMs: options.timeoutMs,
        maxSizeBytes: options.maxSizeBytes,
        signal: options.signal,
      },
      () => undefined,
    );
  } catch (error) {
    // The recipe is the worker's: its failure is never the submission's.
    if (error instanceof WorkerError && error.code === 'op_2')
      throw new WorkerError('wr_500', `the runtime image cannot be built: ${error.message}`, { cause: error });
    throw error;
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
  const id = await engine.imageId(tag);
  if (id === undefined) throw new WorkerError('wr_500', `the runtime image ${tag} was built but is not on the engine`);
  return { tag, id };
}
