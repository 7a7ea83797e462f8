import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { sandboxedSourceBuild, type SourceBuild } from '../../src/adapters/images/source-build.js';
import { loadConfig } from '../../src/config.js';
import { WorkerError } from '../../src/domain/errors.js';

export const GIB = 1024 ** 3;
export const SUBMISSION_CODE = 'from helpers.scale import scale\ndef f(ts):\n    return scale(ts)\n';

/** A submission folder in `dir` with a nested package, and a requirements.txt unless `requirements` is undefined. */
export async function writeSubmission(
  dir: string,
  requirements: string | undefined,
  code = SUBMISSION_CODE,
): Promise<string> {
  await mkdir(path.join(dir, 'helpers'), { recursive: true });
  await writeFile(path.join(dir, 'submission_wrapper.py'), code);
  await writeFile(path.join(dir, 'helpers/scale.py'), 'def scale(ts):\n    return ts * 2\n');
  if (requirements !== undefined) await writeFile(path.join(dir, 'requirements.txt'), requirements);
  return dir;
}

/** Where a spec expects every requirement to have a wheel: a source build is a failure of the spec. */
export async function noSourceBuild(build: SourceBuild): Promise<void> {
  throw new Error(`unexpected source build of ${build.requirement}`);
}

/** The real sandbox on the engine, 1 GiB, with these labels on its containers (to find leftovers). */
export function sandboxWith(
  labels: Readonly<Record<string, string>> = { 'pvhub.managed': 'true', 'pvhub.spec': 'source-build' },
  env: Record<string, string> = {},
) {
  return sandboxedSourceBuild({
    engine: new DockerEngine(),
    limits: loadConfig({ PVHUB_CONTAINER_MEMORY: '1g', ...env }).limits,
    pythonVersion: '3.11',
    labels,
  });
}

/** The WorkerError the action rejects (or throws) with; anything else fails the spec. */
export async function workerError(action: () => unknown): Promise<WorkerError> {
  try {
    await action();
  } catch (error) {
    assert.instance(error, WorkerError);
    return error as WorkerError;
  }
  throw new Error('expected a WorkerError');
}
